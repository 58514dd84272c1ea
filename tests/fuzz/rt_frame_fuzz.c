/* Fuzz target for the realtime frame parser (actors/kit/session.h):
 * rt_parse over any bytes, then every field reader the frame handlers use
 * over the parsed frame.
 *
 * Checks, against a reference written here from session.h:
 *  - rt_parse succeeds iff the input is JSON (jansson, duplicates refused)
 *    holding an object, whose "id" (if present) is a string of 1 to
 *    RT_ID_MAX bytes without NUL, and whose "type" is a string; on success
 *    type is NUL-free ("" when the type held a NUL) and id equals the
 *    frame's id; on failure the code is one of the three documented ones
 *    and the message is a terminated string;
 *  - rt_get_id succeeds iff the field is a decimal id string that core/id
 *    accepts, and then yields that id; rt_get_uint iff absent (0) or an
 *    integer >= 0; rt_get_str iff a NUL-free string within the bounds, and
 *    then the pointer is the field's own value.
 * jansson's own parser is not what is tested: the JSON decision is taken
 * from json_loadb with the same flags.
 */
#include "actors/kit/session.h"
#include "core/id.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static const char *const id_fields[] = { "conversation_id", "id", "type", "seq", "after_seq" };
static const char *const uint_fields[] = { "after_seq", "seq", "after", "id", "conversation_id" };
static const struct {
	const char *name;
	size_t min, max;
} str_fields[] = {
	{ "text", 1, 8000 }, { "client_id", 1, 64 }, { "token", 1, 4096 }, { "type", 0, 3 }, { "id", 1, 64 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const rt_err *e)
{
	CHECK(e->code);
	CHECK(strcmp(e->code, "invalid_json") == 0 || strcmp(e->code, "invalid_frame") == 0 ||
	      strcmp(e->code, "invalid_field") == 0);
	CHECK(memchr(e->message, 0, sizeof e->message) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rt_frame f;
	rt_err e;
	memset(&e, 0, sizeof e);
	int rc = rt_parse((const char *)data, size, &f, &e);

	/* the reference */
	json_error_t jerr;
	json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
				 &jerr);
	bool want = false;
	if (ref && json_is_object(ref)) {
		json_t *idv = json_object_get(ref, "id"), *tv = json_object_get(ref, "type");
		bool id_ok = !idv || (json_is_string(idv) && json_string_length(idv) >= 1 &&
				      json_string_length(idv) <= RT_ID_MAX &&
				      strlen(json_string_value(idv)) == json_string_length(idv));
		want = id_ok && json_is_string(tv);
	}
	CHECK((rc == 0) == want);
	CHECK((f.root != NULL) == (ref != NULL));
	if (rc < 0) {
		check_err(&e);
		if (!ref)
			CHECK(strcmp(e.code, "invalid_json") == 0);
		json_decref(f.root);
		json_decref(ref);
		return 0;
	}
	CHECK(f.type && strlen(f.type) <= json_string_length(json_object_get(f.root, "type")));
	json_t *idv = json_object_get(f.root, "id");
	CHECK(idv ? f.id && strcmp(f.id, json_string_value(idv)) == 0 : f.id == NULL);

	for (size_t i = 0; i < sizeof id_fields / sizeof id_fields[0]; i++) {
		uint64_t out = 0, want_id = 0;
		json_t *v = json_object_get(f.root, id_fields[i]);
		bool ok = json_is_string(v) && id_parse(json_string_value(v), json_string_length(v), &want_id);
		int r = rt_get_id(f.root, id_fields[i], &out, &e);
		CHECK((r == 0) == ok);
		if (ok)
			CHECK(out == want_id);
		else
			check_err(&e);
	}
	for (size_t i = 0; i < sizeof uint_fields / sizeof uint_fields[0]; i++) {
		uint64_t out = 7;
		json_t *v = json_object_get(f.root, uint_fields[i]);
		bool ok = !v || (json_is_integer(v) && json_integer_value(v) >= 0);
		int r = rt_get_uint(f.root, uint_fields[i], &out, &e);
		CHECK((r == 0) == ok);
		if (ok)
			CHECK(out == (v ? (uint64_t)json_integer_value(v) : 0));
		else
			check_err(&e);
	}
	for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++) {
		const char *out = NULL;
		json_t *v = json_object_get(f.root, str_fields[i].name);
		size_t n = json_is_string(v) ? json_string_length(v) : 0;
		bool ok = json_is_string(v) && n >= str_fields[i].min && n <= str_fields[i].max &&
			  strlen(json_string_value(v)) == n;
		int r = rt_get_str(f.root, str_fields[i].name, str_fields[i].min, str_fields[i].max, &out, &e);
		CHECK((r == 0) == ok);
		if (ok)
			CHECK(out == json_string_value(v) && strlen(out) == n);
		else
			check_err(&e);
	}
	json_decref(f.root);
	json_decref(ref);
	return 0;
}
