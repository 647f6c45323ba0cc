/*
 * base: the first header of every .c file in the tree (git's
 * git-compat-util.h): the build configuration, the C library headers
 * nearly every module uses, and last banned.h, so that a banned function
 * is a compile error everywhere. Include it before anything else, and
 * include further system or library headers after it only when they do
 * not declare a banned function (see banned.h).
 */
#ifndef SF_COMMON_BASE_H
#define SF_COMMON_BASE_H

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

#endif
