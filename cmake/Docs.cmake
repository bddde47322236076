# `ovx version`, shell completion and man pages (issue 16). One source for
# each: the version is project(VERSION) plus `git describe`, written at
# every build (cmake/BuildInfo.cmake); completion and ovx(8) are printed by
# the built ovx from its own command definitions (`ovx completion bash|zsh`,
# `ovx man`), so they list exactly the verbs and flags it has. ovx-config(5)
# is written by hand (docs/man/ovx-config.5.in), its keys checked against
# the config reader by tests/cli/docs_test.sh.
#
# Outputs, at stable paths for the install rules:
#   build/completion/ovx.bash  build/completion/_ovx
#   build/man/ovx.8            build/man/ovx-config.5
set(OVX_COMPLETION_DIR ${CMAKE_BINARY_DIR}/completion)
set(OVX_MAN_DIR ${CMAKE_BINARY_DIR}/man)

add_custom_target(ovx_build_info
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DBIN=${CMAKE_BINARY_DIR}
          -DVERSION=${PROJECT_VERSION} -P ${CMAKE_SOURCE_DIR}/cmake/BuildInfo.cmake
  BYPRODUCTS ${CMAKE_BINARY_DIR}/gen/ovx_version.h ${OVX_MAN_DIR}/ovx-config.5
  COMMENT "version from git describe")

target_sources(ovx PRIVATE cli/verbs_docs.cpp cli/docs_model.cpp cli/completion.cpp cli/manpage.cpp)
add_dependencies(ovx ovx_build_info)

add_custom_command(
  OUTPUT ${OVX_COMPLETION_DIR}/ovx.bash ${OVX_COMPLETION_DIR}/_ovx ${OVX_MAN_DIR}/ovx.8
  COMMAND ${CMAKE_COMMAND} -E make_directory ${OVX_COMPLETION_DIR} ${OVX_MAN_DIR}
  COMMAND ovx completion bash > ${OVX_COMPLETION_DIR}/ovx.bash
  COMMAND ovx completion zsh > ${OVX_COMPLETION_DIR}/_ovx
  COMMAND ovx man > ${OVX_MAN_DIR}/ovx.8
  DEPENDS ovx
  COMMENT "completion and ovx(8) from ovx's command definitions")
add_custom_target(ovx_docs ALL
  DEPENDS ${OVX_COMPLETION_DIR}/ovx.bash ${OVX_COMPLETION_DIR}/_ovx ${OVX_MAN_DIR}/ovx.8)
add_dependencies(ovx_docs ovx_build_info)
