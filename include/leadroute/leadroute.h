/*
 * libleadroute: umbrella header.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_H
#define LEADROUTE_H

/** @file
 * Include this one header to use libleadroute:
 * - common.h: version, errors, allocator, limits
 * - value.h:  values and leads
 * - table.h:  decision tables (parse, build, compile, lint, evaluate)
 * - leads.h:  reading leads from CSV files
 * - router.h: reps, pools, strategies, host callbacks, routing
 */
#include "common.h"
#include "value.h"
#include "table.h"
#include "leads.h"
#include "router.h"

#endif /* LEADROUTE_H */
