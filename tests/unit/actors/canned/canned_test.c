/* canned_test — actors/canned/canned.c: placeholder expansion (the four
 * names, spaces inside the braces, repeats, values holding HTML or script
 * or braces copied as text and not expanded again, unknown names and
 * unclosed braces left as written, empty values, a body without any).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "actors/canned/canned.h"

static void expect(const char *body, const canned_vars *v, const char *want)
{
	size_t n = 0;
	char *got = canned_expand(body, v, &n);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(n, strlen(want));
	free(got);
}

static const canned_vars vars = { "Ada", "ada@example.com", "Bob", 42 };

static void test_known(void **state)
{
	(void)state;
	expect("Hi {{visitor.name}} ({{visitor.email}}), {{agent.name}} here about #{{conversation.id}}.", &vars,
	       "Hi Ada (ada@example.com), Bob here about #42.");
	expect("{{ visitor.name }}{{visitor.name}}", &vars, "AdaAda");
	expect("no placeholders", &vars, "no placeholders");
	expect("", &vars, "");
}

static void test_unknown_left(void **state)
{
	(void)state;
	expect("Hi {{visitor.phone}} and {{ Agent.Name }}", &vars, "Hi {{visitor.phone}} and {{ Agent.Name }}");
	expect("open {{visitor.name", &vars, "open {{visitor.name");
	expect("{{{visitor.name}}}", &vars, "{Ada}");
	expect("{{}} {{ }} {{a b}}", &vars, "{{}} {{ }} {{a b}}");
	expect("}} {{visitor.name}} {{", &vars, "}} Ada {{");
}

static void test_values_are_text(void **state)
{
	(void)state;
	canned_vars v = { "<script>alert(1)</script>", "{{agent.name}}", "\"Bob\" & <b>", 0 };
	expect("{{visitor.name}}|{{visitor.email}}|{{agent.name}}|{{conversation.id}}", &v,
	       "<script>alert(1)</script>|{{agent.name}}|\"Bob\" & <b>|");
	canned_vars none = { 0 };
	expect("[{{visitor.name}}][{{visitor.email}}][{{agent.name}}]", &none, "[][][]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_unknown_left),
		cmocka_unit_test(test_values_are_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
