# Fails unless README.md contains examples/quickstart.cpp verbatim (inside a ```cpp block).
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "${example}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not contain examples/quickstart.cpp verbatim; copy the file into the README's C++ block")
endif()
