"""The edgewasm model zoo (see zoo.py): `from zoo import zoo` with tests/ on the path."""
