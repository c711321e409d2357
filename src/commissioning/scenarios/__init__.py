"""The seeds' case studies as runnable scenarios (C23): a layer above contract operations
that plans each contract from the data, then registers, signs, certifies and settles it
through the same services a commissioner uses."""
