/* lib96_doveadm_migrate_sieve_plugin.so: the Sieve side of `doveadm migrate`, in C because
   Pigeonhole's headers are not C++-clean (docs/dev/sieve-research.md §2). It links
   libdovecot-sieve, so doveadm loads it only where dovecot-sieve is installed; its init hands
   the table of dovecot_adapter/sieve_store_api.h to the main module. It sorts after
   lib95_doveadm_migrate_plugin.so, which doveadm has therefore loaded first (RTLD_GLOBAL). */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "unichar.h"
#include "mail-user.h"
#include "mail-storage-settings.h"

#include "sieve.h"
#include "sieve-error.h"
#include "sieve-script.h"
#include "sieve-storage.h"

#include "dovecot_adapter/sieve_store_api.h"

#define MIGRATE_SIEVE_MAX_ERRORS 10

struct migrate_sieve_storage {
	struct mail_user *user;
	struct sieve_instance *svinst;
	struct sieve_storage *storage;
};

const char *doveadm_migrate_sieve_plugin_version = DOVECOT_ABI_VERSION;

void doveadm_migrate_sieve_plugin_init(struct module *module);
void doveadm_migrate_sieve_plugin_deinit(void);

/* Weak: should the main module be missing, this module still loads and does nothing. */
void migrate_sieve_register(const struct migrate_sieve_api *api)
	__attribute__((weak));

#if !DOVECOT_PREREQ(2, 4, 0)
/* Pigeonhole 0.5 reads its settings (sieve = ..., sieve_extensions) through this callback; without
   it every setting reads as unset. */
static const char *migrate_sieve_get_setting(void *context, const char *identifier)
{
	struct mail_user *user = context;

	return mail_user_plugin_getenv(user, identifier);
}

static const struct sieve_callbacks migrate_sieve_callbacks = {
	NULL,
	migrate_sieve_get_setting
};
#endif

static const char *migrate_sieve_last_error(struct sieve_storage *storage)
{
	return t_strdup(sieve_storage_get_last_error(storage, NULL));
}

static const char *migrate_sieve_open_error(enum sieve_error error)
{
	switch (error) {
	case SIEVE_ERROR_NOT_POSSIBLE:
		return "Sieve is disabled for this user";
	case SIEVE_ERROR_NOT_FOUND:
		return "the user has no personal Sieve storage (sieve setting)";
	default:
		return "the Sieve storage cannot be opened (see Dovecot's log)";
	}
}

static struct migrate_sieve_storage *
migrate_sieve_open(struct mail_user *user, const char **error_r)
{
	struct sieve_environment svenv;
	struct sieve_instance *svinst;
	struct sieve_storage *storage;
	struct migrate_sieve_storage *st;
	enum sieve_error error = SIEVE_ERROR_NONE;

	i_zero(&svenv);
	svenv.username = user->username;
	(void)mail_user_get_home(user, &svenv.home_dir);
	svenv.base_dir = user->set->base_dir;
	svenv.flags = SIEVE_FLAG_HOME_RELATIVE;
#if DOVECOT_PREREQ(2, 4, 0)
	svenv.event_parent = user->event;
	if (sieve_init(&svenv, NULL, user, user->set->mail_debug, &svinst) < 0) {
		*error_r = "the Sieve engine failed to start (see Dovecot's log)";
		return NULL;
	}
	if (sieve_storage_create_personal(svinst, user, SIEVE_SCRIPT_CAUSE_ANY,
					  SIEVE_STORAGE_FLAG_READWRITE,
					  &storage, &error) < 0)
		storage = NULL;
#else
	svinst = sieve_init(&svenv, &migrate_sieve_callbacks, user, user->mail_debug);
	if (svinst == NULL) {
		*error_r = "the Sieve engine failed to start (see Dovecot's log)";
		return NULL;
	}
	storage = sieve_storage_create_main(svinst, user, SIEVE_STORAGE_FLAG_READWRITE, &error);
#endif
	if (storage == NULL) {
		*error_r = migrate_sieve_open_error(error);
		sieve_deinit(&svinst);
		return NULL;
	}
	st = i_new(struct migrate_sieve_storage, 1);
	st->user = user;
	st->svinst = svinst;
	st->storage = storage;
	return st;
}

static void migrate_sieve_close(struct migrate_sieve_storage **_st)
{
	struct migrate_sieve_storage *st = *_st;

	*_st = NULL;
	if (st == NULL)
		return;
	sieve_storage_unref(&st->storage);
	sieve_deinit(&st->svinst);
	i_free(st);
}

static int
migrate_sieve_list(struct migrate_sieve_storage *st,
		   void (*cb)(void *context, const char *name, int active),
		   void *context, const char **error_r)
{
	struct sieve_storage_list_context *lctx;
	const char *name;
	bool active;

#if DOVECOT_PREREQ(2, 4, 0)
	if (sieve_storage_list_init(st->storage, &lctx) < 0)
		lctx = NULL;
#else
	lctx = sieve_storage_list_init(st->storage);
#endif
	if (lctx == NULL) {
		*error_r = migrate_sieve_last_error(st->storage);
		return -1;
	}
	while ((name = sieve_storage_list_next(lctx, &active)) != NULL)
		cb(context, name, active ? 1 : 0);
	if (sieve_storage_list_deinit(&lctx) < 0) {
		*error_r = migrate_sieve_last_error(st->storage);
		return -1;
	}
	return 0;
}

static struct sieve_script *
migrate_sieve_open_script(struct migrate_sieve_storage *st, const char *name,
			  enum sieve_error *error_r)
{
	struct sieve_script *script;

#if DOVECOT_PREREQ(2, 4, 0)
	if (sieve_storage_open_script(st->storage, name, &script, error_r) < 0)
		return NULL;
#else
	script = sieve_storage_open_script(st->storage, name, error_r);
#endif
	return script;
}

static int
migrate_sieve_get(struct migrate_sieve_storage *st, const char *name,
		  const unsigned char **data_r, size_t *size_r,
		  const char **error_r)
{
	struct sieve_script *script;
	struct istream *input;
	enum sieve_error error = SIEVE_ERROR_NONE;
	buffer_t *buf;
	const unsigned char *data;
	size_t size;
	int ret = 1;

	script = migrate_sieve_open_script(st, name, &error);
	if (script == NULL) {
		if (error == SIEVE_ERROR_NOT_FOUND)
			return 0;
		*error_r = migrate_sieve_last_error(st->storage);
		return -1;
	}
	if (sieve_script_get_stream(script, &input, &error) < 0) {
		*error_r = t_strdup_printf("cannot read the script '%s' here", name);
		sieve_script_unref(&script);
		return -1;
	}
	buf = t_buffer_create(1024);
	while (i_stream_read_more(input, &data, &size) > 0) {
		buffer_append(buf, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("cannot read the script '%s' here: %s",
					   name, i_stream_get_error(input));
		ret = -1;
	}
	*data_r = buf->data;
	*size_r = buf->used;
	sieve_script_unref(&script);
	return ret;
}

static int
migrate_sieve_save(struct migrate_sieve_storage *st, const char *name,
		   const unsigned char *data, size_t size, const char **error_r)
{
	struct sieve_storage_save_context *sctx;
	struct istream *input;
	int ret = 0;

	input = i_stream_create_from_data(data, size);
	sctx = sieve_storage_save_init(st->storage, name, input);
	if (sctx == NULL) {
		*error_r = migrate_sieve_last_error(st->storage);
		i_stream_unref(&input);
		return -1;
	}
	/* A stream over memory has all its bytes at once: i_stream_read() > 0 would never be
	   true and the script would be stored empty. */
	while (ret == 0 && !i_stream_read_eof(input)) {
		if (sieve_storage_save_continue(sctx) < 0)
			ret = -1;
	}
	if (ret == 0 && sieve_storage_save_finish(sctx) < 0)
		ret = -1;
	if (ret == 0 && sieve_storage_save_commit(&sctx) < 0)
		ret = -1;
	if (ret < 0)
		*error_r = migrate_sieve_last_error(st->storage);
	if (sctx != NULL)
		sieve_storage_save_cancel(&sctx);
	i_stream_unref(&input);
	return ret;
}

static int
migrate_sieve_check(struct migrate_sieve_storage *st, const char *name,
		    int activation, const char **messages_r,
		    const char **error_r)
{
	enum sieve_compile_flags flags = SIEVE_COMPILE_FLAG_NOGLOBAL;
	struct sieve_error_handler *ehandler;
	struct sieve_script *script;
	struct sieve_binary *sbin;
	enum sieve_error error = SIEVE_ERROR_NONE;
	string_t *messages = t_str_new(256);
	int ret;

	/* As ManageSieve: an upload tolerates a missing include, an activation does not. */
	flags |= activation != 0 ? SIEVE_COMPILE_FLAG_ACTIVATED :
		SIEVE_COMPILE_FLAG_UPLOADED;
	script = migrate_sieve_open_script(st, name, &error);
	if (script == NULL) {
		*error_r = migrate_sieve_last_error(st->storage);
		return -1;
	}
	ehandler = sieve_strbuf_ehandler_create(st->svinst, messages, FALSE,
						MIGRATE_SIEVE_MAX_ERRORS);
#if DOVECOT_PREREQ(2, 4, 0)
	if (sieve_compile_script(script, ehandler, flags, &sbin, &error) < 0)
		sbin = NULL;
#else
	sbin = sieve_compile_script(script, ehandler, flags, &error);
#endif
	if (sbin != NULL) {
		sieve_close(&sbin);
		ret = 1;
	} else if (error == SIEVE_ERROR_NOT_VALID) {
		*messages_r = str_c(messages);
		ret = 0;
	} else {
		*error_r = t_strdup_printf("the script '%s' could not be compiled here: %s", name,
					   str_len(messages) > 0 ? str_c(messages) :
					   "(no message; see Dovecot's log)");
		ret = -1;
	}
	sieve_error_handler_unref(&ehandler);
	sieve_script_unref(&script);
	return ret;
}

static int
migrate_sieve_activate(struct migrate_sieve_storage *st, const char *name,
		       const char **error_r)
{
	struct sieve_script *script;
	enum sieve_error error = SIEVE_ERROR_NONE;
	int ret = 0;

	script = migrate_sieve_open_script(st, name, &error);
	if (script == NULL || sieve_script_activate(script, (time_t)-1) < 0) {
		*error_r = migrate_sieve_last_error(st->storage);
		ret = -1;
	}
	if (script != NULL)
		sieve_script_unref(&script);
	return ret;
}

static int migrate_sieve_name_is_valid(const char *name)
{
	return uni_utf8_str_is_valid(name) && sieve_script_name_is_valid(name) ? 1 : 0;
}

static const struct migrate_sieve_api migrate_sieve_api = {
	.version = MIGRATE_SIEVE_API_VERSION,
	.open = migrate_sieve_open,
	.close = migrate_sieve_close,
	.list = migrate_sieve_list,
	.get = migrate_sieve_get,
	.save = migrate_sieve_save,
	.check = migrate_sieve_check,
	.activate = migrate_sieve_activate,
	.name_is_valid = migrate_sieve_name_is_valid,
};

void doveadm_migrate_sieve_plugin_init(struct module *module ATTR_UNUSED)
{
	if (migrate_sieve_register != NULL)
		migrate_sieve_register(&migrate_sieve_api);
}

void doveadm_migrate_sieve_plugin_deinit(void)
{
}
