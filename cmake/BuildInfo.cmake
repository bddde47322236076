# cmake -DSRC=<source dir> -DBIN=<build dir> -DVERSION=<project version>
#       -P cmake/BuildInfo.cmake
#
# Writes the files that carry the build's version: the header behind
# `ovx version` (BIN/gen/ovx_version.h) and ovx-config(5) (BIN/man/).
# Run at every build rather than at configure time, so that a commit or an
# edit since shows; configure_file leaves a file alone when its text is the
# same, so nothing recompiles then.
#
# git: `git describe --always --dirty` of SRC; "unknown" for a tree without
# .git (a release tarball). Date: the last commit's, else today's (or
# SOURCE_DATE_EPOCH's, for reproducible builds).
set(OVX_VERSION ${VERSION})
set(OVX_GIT unknown)
string(TIMESTAMP OVX_DATE "%Y-%m-%d" UTC)
if(EXISTS ${SRC}/.git)
  execute_process(COMMAND git describe --always --dirty WORKING_DIRECTORY ${SRC}
    OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND describe)
    set(OVX_GIT ${describe})
    execute_process(COMMAND git log -1 --format=%cs WORKING_DIRECTORY ${SRC}
      OUTPUT_VARIABLE OVX_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
endif()
configure_file(${SRC}/cli/version.h.in ${BIN}/gen/ovx_version.h @ONLY)
configure_file(${SRC}/docs/man/ovx-config.5.in ${BIN}/man/ovx-config.5 @ONLY)
