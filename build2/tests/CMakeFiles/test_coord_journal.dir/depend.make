# Empty dependencies file for test_coord_journal.
# This may be replaced when dependencies are built.
