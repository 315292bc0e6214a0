#pragma once
#include "dynagrad/data/samplers/base.h"
#include "dynagrad/data/samplers/distributed.h"
#include "dynagrad/data/samplers/random.h"
#include "dynagrad/data/samplers/sequential.h"
