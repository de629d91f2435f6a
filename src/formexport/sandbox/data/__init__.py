"""sandbox.data"""
