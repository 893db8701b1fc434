/*
 * chargebus_clientid: a Mosquitto 2 plugin that binds the client ids of the station's accounts to the accounts.
 *
 * A client id `chargebus-<account>` or `chargebus-<account>-<anything>` is accepted only from a client that logs
 * in as <account> (the password file then checks the password). Any other client id is left to the password
 * file and allow_anonymous as usual, so `mosquitto_sub -v -t 'chargebus/#'` keeps working on loopback.
 *
 * Without it any local client could connect as `chargebus-power`: the broker would disconnect the real service
 * and hand its persistent session (subscriptions, queued commands) to the newcomer. Mosquitto's own
 * use_username_as_clientid would also stop that, but it refuses every anonymous watcher and lets two
 * processes of one account (two `chargebus` commands) throw each other off.
 *
 * Built by `make deps` (cc -shared -fPIC), loaded with `plugin <path>` in the mosquitto.conf that
 * services/supervisor/broker_conf.py writes.
 */
#include <stddef.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define RESERVED_PREFIX "chargebus-"

static mosquitto_plugin_id_t *plugin_id = NULL;

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) {
			return 5;
		}
	}
	return -1;
}

/* The account a reserved client id belongs to matches the login: `chargebus-<user>` or `chargebus-<user>-...`. */
static int bound_to(const char *id, const char *username)
{
	size_t prefix = strlen(RESERVED_PREFIX);
	size_t user;

	if (username == NULL || username[0] == '\0') {
		return 0;
	}
	user = strlen(username);
	if (strlen(id) < prefix + user || strncmp(id + prefix, username, user) != 0) {
		return 0;
	}
	return id[prefix + user] == '\0' || id[prefix + user] == '-';
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *auth = event_data;
	const char *id = mosquitto_client_id(auth->client);

	(void)event;
	(void)userdata;
	if (id == NULL || strncmp(id, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) != 0) {
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	if (bound_to(id, auth->username)) {
		return MOSQ_ERR_PLUGIN_DEFER; /* the password file decides */
	}
	mosquitto_log_printf(MOSQ_LOG_WARNING, "chargebus: client id %s refused to %s: it belongs to another account",
			id, auth->username ? auth->username : "an anonymous client");
	return MOSQ_ERR_AUTH;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
		int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
}
