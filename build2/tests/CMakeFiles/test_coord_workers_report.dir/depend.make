# Empty dependencies file for test_coord_workers_report.
# This may be replaced when dependencies are built.
