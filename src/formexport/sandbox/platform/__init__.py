"""sandbox.platform"""
