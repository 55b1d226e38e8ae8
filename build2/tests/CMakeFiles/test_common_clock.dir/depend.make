# Empty dependencies file for test_common_clock.
# This may be replaced when dependencies are built.
