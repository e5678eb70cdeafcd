# `mpirun -np R fkm fit` end to end (ctest: mpi_cli_*). Makes a data file, fits it with 1, 2, 3
# and 4 processes, and checks that the labels and centroids files are byte-for-byte the same and
# the report counts every row; then bad input on the last process's rows, an unwritable
# output and a 3-D DATA (a batch, fitted in one process only): exit status 2, one "fkm: error:"
# line, no output file.
#   cmake -DMPIEXEC=... -DNP_FLAG=-n "-DFLAGS=..." -DFKM=path/to/fkm -DMAKER=fkm_mpi_fit_test
#         -DWORK=dir -P mpi_cli_test.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run_fkm np expect_rc)
  execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} ${np} ${FLAGS} ${FKM} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT rc STREQUAL "${expect_rc}")
    message(FATAL_ERROR "mpirun -np ${np} fkm ${ARGN}: status '${rc}', expected ${expect_rc}:\n${out}${err}")
  endif()
  set(output "${out}${err}" PARENT_SCOPE)
endfunction()

function(make_data path nan_row)
  execute_process(COMMAND ${MAKER} write-npy ${path} 1003 9 ${nan_row} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "could not write ${path}")
  endif()
endfunction()

make_data(${WORK}/data.npy -1)
foreach(np 1 2 3 4)
  run_fkm(${np} 0 fit ${WORK}/data.npy --k 11 --seed 5 --init kmeans-parallel --threads 1 --quiet
          --labels-out ${WORK}/labels_${np}.npy --centroids-out ${WORK}/centroids_${np}.npy --report ${WORK}/report_${np}.json)
  file(READ ${WORK}/report_${np}.json report)
  string(JSON n GET "${report}" n)
  string(JSON processes GET "${report}" processes)
  string(JSON transport GET "${report}" transport)
  if(NOT n EQUAL 1003 OR NOT processes EQUAL np OR NOT transport STREQUAL "host")
    message(FATAL_ERROR "report of ${np} processes says n = ${n}, processes = ${processes}, transport = ${transport}")
  endif()
  if(np GREATER 1)
    foreach(what labels centroids)
      execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/${what}_1.npy ${WORK}/${what}_${np}.npy
                      RESULT_VARIABLE differ)
      if(differ)
        message(FATAL_ERROR "${what} of ${np} processes differ from those of 1 process")
      endif()
    endforeach()
  endif()
endforeach()

# --transport host gives the same bytes as auto (which took host: the CPU backend); nccl, which
# needs the cuda backend (and a build with NCCL), is refused by every process: one message.
run_fkm(2 0 fit ${WORK}/data.npy --k 11 --seed 5 --init kmeans-parallel --threads 1 --quiet --transport host
        --labels-out ${WORK}/labels_host.npy --centroids-out ${WORK}/centroids_host.npy)
foreach(what labels centroids)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/${what}_1.npy ${WORK}/${what}_host.npy
                  RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${what} with --transport host differ from those of --transport auto")
  endif()
endforeach()
run_fkm(2 2 fit ${WORK}/data.npy --k 11 --quiet --backend cpu --transport nccl --centroids-out ${WORK}/nccl_c.npy)
string(REGEX MATCHALL "fkm: error:[^\n]*" lines "${output}")
list(LENGTH lines count)
if(NOT count EQUAL 1 OR NOT lines MATCHES "transport nccl cannot run" OR EXISTS ${WORK}/nccl_c.npy)
  message(FATAL_ERROR "expected one error line refusing --transport nccl and no output, got:\n${output}")
endif()

# A NaN in the rows of the last of 3 processes (rows 668..1002).
make_data(${WORK}/bad.npy 1000)
run_fkm(3 2 fit ${WORK}/bad.npy --k 4 --quiet --labels-out ${WORK}/bad_labels.npy --centroids-out ${WORK}/bad_c.npy)
string(REGEX MATCHALL "fkm: error:[^\n]*" lines "${output}")
list(LENGTH lines count)
if(NOT count EQUAL 1 OR NOT lines MATCHES "row 1000")
  message(FATAL_ERROR "expected one error line naming row 1000, got:\n${output}")
endif()
if(EXISTS ${WORK}/bad_labels.npy OR EXISTS ${WORK}/bad_c.npy)
  message(FATAL_ERROR "a failed fit left an output file")
endif()

# An output folder that does not exist: found by rank 0 alone, before any work.
run_fkm(3 2 fit ${WORK}/data.npy --k 4 --quiet --labels-out ${WORK}/no/such/folder/labels.npy)
string(REGEX MATCHALL "fkm: error:[^\n]*" lines "${output}")
list(LENGTH lines count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one error line, got:\n${output}")
endif()

# A batch of problems (3-D DATA) is fitted by one process: refused under mpirun by every process.
execute_process(COMMAND ${MAKER} write-npy ${WORK}/batch.npy 50 9 -1 3 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "could not write ${WORK}/batch.npy")
endif()
run_fkm(2 2 fit ${WORK}/batch.npy --k 4 --quiet --labels-out ${WORK}/batch_labels.npy)
string(REGEX MATCHALL "fkm: error:" errors "${output}")  # the message holds a ';', a list separator
list(LENGTH errors count)
if(NOT count EQUAL 1 OR NOT output MATCHES "fkm: error: [^\n]*a batch of problems" OR EXISTS ${WORK}/batch_labels.npy)
  message(FATAL_ERROR "expected one error line refusing the batch and no output, got:\n${output}")
endif()
