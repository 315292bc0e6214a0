#pragma once
// The data API (LibTorch's torch::data): datasets, transforms, samplers and
// the data loader, plus a progress display. Include it beside
// "dynagrad/dynagrad.h"; everything is in dg::data.
#include "dynagrad/data/array_ref.h"
#include "dynagrad/data/dataloader.h"
#include "dynagrad/data/dataloader_options.h"
#include "dynagrad/data/datasets.h"
#include "dynagrad/data/example.h"
#include "dynagrad/data/iterator.h"
#include "dynagrad/data/progress.h"
#include "dynagrad/data/samplers.h"
#include "dynagrad/data/transforms.h"
#include "dynagrad/data/worker_exception.h"
