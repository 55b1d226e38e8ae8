# Empty dependencies file for test_common_view2d.
# This may be replaced when dependencies are built.
