"""sandbox.http"""
