"""opnform"""
