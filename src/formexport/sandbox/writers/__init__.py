"""sandbox.writers"""
