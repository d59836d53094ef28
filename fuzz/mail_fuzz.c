/*
 * mail_fuzz.c - libFuzzer target for a message's way through the pure
 * cores: GMime parsing and feature extraction (src/mail), the attribution
 * vector, scoring against the shipped families and the campaign id
 * (src/attrib), as `classify` does for every message of a file.
 *
 * The input is one message's bytes. Invariants checked: a message taken
 * has a family (perhaps "unknown") and a confidence in [0, 1]; memory is
 * freed (ASan/LSan). Not part of the CMake
 * build; build and run with fuzz/mail_fuzz.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pipeline *pl = fuzz_pipeline();
	struct pipeline_message m = { 0 };
	struct pipeline_result res;
	char err[256];

	m.raw = (const char *)data;
	m.len = size;
	m.source = "fuzz.eml";
	switch (pipeline_push(pl, &m, &res, err, sizeof(err))) {
	case PIPELINE_OK:
		if (!res.family || res.confidence < 0 || res.confidence > 1)
			abort();
		break;
	default:
		break;
	}
	return 0;
}
