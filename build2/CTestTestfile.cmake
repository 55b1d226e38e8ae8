# CMake generated Testfile for 
# Source directory: /work/wt-security
# Build directory: /work/wt-security/build2
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("common")
subdirs("proto")
subdirs("worker")
subdirs("coordinator")
subdirs("tests")
subdirs("bench")
