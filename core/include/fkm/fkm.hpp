// fkm — fast exact k-means. The umbrella header: include this.
#pragma once
#include "fkm/backend.hpp"
#include "fkm/batched.hpp"
#include "fkm/error.hpp"
#include "fkm/half.hpp"
#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"
