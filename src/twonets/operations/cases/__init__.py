"""The closed loop of city operations: reports become cases, dispatched, handled, closed."""
