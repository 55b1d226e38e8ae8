# Empty dependencies file for test_coord_plan.
# This may be replaced when dependencies are built.
