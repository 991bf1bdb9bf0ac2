"""Domain values, errors and pure rules shared by every layer: the bottom of the import graph."""
