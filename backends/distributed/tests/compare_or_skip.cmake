# cmake -DA=first -DB=second -P compare_or_skip.cmake: fails unless the two files are byte-identical;
# when neither exists (the fits were skipped: a GPU backend without its GPU) prints a SKIP line.
if(NOT EXISTS "${A}" AND NOT EXISTS "${B}")
  message("SKIP: no result (both fits were skipped)")
  return()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${A}" "${B}" RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "${A} and ${B} differ (or one is missing)")
endif()
