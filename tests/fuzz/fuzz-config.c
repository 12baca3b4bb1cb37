/* fuzz-config.c: libFuzzer target for the config readers: the control-file
 * line reader, the NAME=value parser (with the typed settings table over
 * its result), the interval parser and hostname expansion. */
#include "config.h"
#include "config-env.h"
#include "config-rc.h"
#include "config-file.h"
#include "config-settings.h"
#include "interval.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_settings {
	char *name;
	bool flag;
	long long count;
	uint64_t size;
	unsigned int timeout;
	unsigned int mode;
};

static const char *const modes[] = { "off", "on", "auto", NULL };
static const struct config_setting_def fuzz_defs[] = {
	CONFIG_SETTING_STRING(struct fuzz_settings, name, "NAME", "x"),
	CONFIG_SETTING_BOOL(struct fuzz_settings, flag, "FLAG", "no"),
	CONFIG_SETTING_INT(struct fuzz_settings, count, "COUNT", "5", -10,
			   1000),
	CONFIG_SETTING_SIZE(struct fuzz_settings, size, "SIZE", "1M", 0,
			    1LL << 40),
	CONFIG_SETTING_INTERVAL(struct fuzz_settings, timeout, "TIMEOUT",
				"5m", 0, 0),
	CONFIG_SETTING_ENUM(struct fuzz_settings, mode, "MODE", "auto", modes),
	CONFIG_SETTING_END
};

static void discard_log(enum log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_limits small = {
		.max_line_len = 512,
		.max_lines = 200,
		.max_value_len = 2048,
		.max_entries = 100,
	};
	struct config_errors *errs = config_errors_new();
	struct config_lines *lines;
	struct config_env *env;
	struct fuzz_settings set;
	unsigned int secs;
	const char *error;

	log_set_handler(discard_log, NULL);

	/* control-file lines, with hostname expansion of each */
	lines = config_lines_new(&small);
	config_lines_parse(lines, "fuzz", data, size, errs);
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		const struct config_line *l = config_lines_get(lines, i);
		char *x = config_expand_hostname(l->text, "mx1.example.com");

		if (strlen(l->text) != l->len || l->line == 0)
			abort();
		free(x);
	}
	config_lines_free(&lines);

	/* "NAME value" rc files over the same lines */
	lines = config_lines_new(&small);
	config_lines_parse(lines, "fuzz", data, size, errs);
	env = config_env_new(&small);
	(void)config_rc_parse(env, lines, errs);
	if (env->count > small.max_entries)
		abort();
	for (size_t i = 0; i < env->count; i++) {
		size_t vl = strlen(env->entries[i].value);

		if (vl > 0 && (env->entries[i].value[vl - 1] == ' ' ||
			       env->entries[i].value[vl - 1] == '\t'))
			abort();
	}
	config_env_free(&env);
	config_lines_free(&lines);

	/* NAME=value, then the typed table over it */
	env = config_env_new(&small);
	(void)config_env_parse(env, "fuzz", data, size, errs);
	if (env->count > small.max_entries)
		abort();
	config_settings_init(fuzz_defs, &set);
	(void)config_settings_apply_env(fuzz_defs, &set, env, errs);
	if (set.count < -10 || set.count > 1000 || set.mode > 2 ||
	    set.name == NULL)
		abort();
	config_settings_free(fuzz_defs, &set);
	config_env_free(&env);

	/* intervals: must round-trip through the formatter */
	if (interval_parse_n((const char *)data, size, &secs, &error) == 0) {
		struct str out;
		unsigned int again;

		if (secs > INTERVAL_MAX)
			abort();
		str_init(&out, 32);
		interval_format(&out, secs);
		if (interval_parse(str_c(&out), &again, &error) < 0 ||
		    again != secs)
			abort();
		str_free(&out);
	}
	config_errors_destroy(&errs);
	return 0;
}
