# Empty dependencies file for test_coord_demo_model.
# This may be replaced when dependencies are built.
