# Runs fkm_mpi_fit_test exit2 on 3 processes: the job must end with status 2 and exactly one
# "fkm: error:" line naming the bad row (rank 0 reports; the others exit quietly).
execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 3 ${FLAGS} ${PROGRAM} exit2 ${BACKEND}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 100)
if("${out}" MATCHES "SKIP: backend")  # a GPU backend without its GPU
  message("${out}")
  return()
endif()
string(REGEX MATCHALL "fkm: error:[^\n]*" lines "${out}${err}")
list(LENGTH lines count)
if(NOT rc EQUAL 2 OR NOT count EQUAL 1 OR NOT "${lines}" MATCHES "row 40, column 0")
  message(FATAL_ERROR "expected exit status 2 and one error line naming row 40; got status '${rc}' and:\n${out}${err}")
endif()
