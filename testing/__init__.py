"""Test support shared by every app's tests: server processes on the test database, a browser.

Not test modules themselves (pytest collects nothing here); the root conftest.py registers the
fixtures built on them.
"""
