"""Scenario tests: mocked outcomes in, the expected path out, on the real scheduler in virtual time."""
