/*
 * test_gw_config.c - the configuration parser: defaults, every key, the two
 * listen address forms, and the errors that must name the key at fault.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gateway/config.h"
#include "tests/unit/check.h"

/* Parses text over the defaults; returns the status, err filled. */
static int parse(const char *text, struct gw_config *cfg, struct gw_config_error *err)
{
	gw_config_defaults(cfg);
	memset(err, 0, sizeof(*err));
	return gw_config_parse(text, strlen(text), cfg, err);
}

/* Expects text to fail with code and a message containing want. */
static void expect_error(const char *text, int code, const char *want)
{
	struct gw_config cfg;
	struct gw_config_error err;
	int rc = parse(text, &cfg, &err);
	CHECK_INT(rc, code);
	CHECK_INT(err.code, code);
	if (!strstr(err.message, want)) {
		check_fail(__FILE__, __LINE__, "message names the key");
		printf("      got \"%s\", want it to contain \"%s\"\n", err.message, want);
	}
}

static void defaults_are_documented_values(void)
{
	struct gw_config c;
	gw_config_defaults(&c);
	CHECK_INT(c.listen.family, AF_INET);
	CHECK_STR(c.listen.address, "127.0.0.1");
	CHECK_INT(c.listen.port, 8443);
	CHECK_INT(ntohs(((struct sockaddr_in *)&c.listen.addr)->sin_port), 8443);
	CHECK_STR(c.tls.cert, "certs/dev/server.crt");
	CHECK_STR(c.tls.key, "certs/dev/server.key");
	CHECK_STR(c.tls.priorities, GW_TLS_PRIORITIES_DEFAULT);
	CHECK_STR(c.store.path, "var/taskgate.db");
	CHECK_STR(c.store.synchronous, "FULL");
	CHECK_INT(c.store.busy_timeout_ms, 5000);
	CHECK_STR(c.account_id, "111122223333");
	CHECK_STR(c.region, "us-east-1");
	CHECK_INT(c.log.level, GW_LOG_INFO);
	CHECK_INT(c.log.format, GW_LOG_FORMAT_JSON);
	CHECK_INT(c.limits.max_connections, 1024);
	CHECK_INT(c.limits.max_connections_per_ip, 64);
	CHECK_INT(c.limits.connection_timeout_s, 30);
	CHECK_INT(c.limits.connection_memory_bytes, 64 * 1024);
	CHECK_INT(c.limits.max_body_bytes, 1024 * 1024);
	CHECK_INT(c.server.threads, 0);
	CHECK_INT(c.server.shutdown_timeout_s, 10);
}

static void scheduler_keys_have_their_documented_defaults_and_rules(void)
{
	struct gw_config c;
	struct gw_config_error e;
	gw_config_defaults(&c);
	CHECK_STR(c.scheduler.driver, "process");
	CHECK_INT(c.scheduler.tick_ms, 1000);
	CHECK_INT(c.scheduler.dynamic_port_min, 49153);
	CHECK_INT(c.scheduler.dynamic_port_max, 65535);
	CHECK_INT(c.scheduler.stop_timeout_s, 30);
	CHECK_STR(c.scheduler.run_dir, "");
	CHECK_INT(c.scheduler.retain_s, 10800);
	CHECK_STR(c.scheduler.docker_port_bind_ip, "127.0.0.1");
	CHECK_STR(c.scheduler.docker_network_mode, "bridge");
	CHECK_INT(c.scheduler.docker_timeout_ms, 30000);
	CHECK_STR(c.scheduler.docker_registry_auth_file, "");
	CHECK_INT(parse("{\"scheduler\": {\"driver\": \"docker\", \"tick_ms\": 200, "
	                "\"docker_socket\": \"/run/d.sock\", \"dynamic_port_min\": 30000, "
	                "\"docker_registry_auth_file\": \"/etc/taskgate/registries.json\", "
	                "\"dynamic_port_max\": 30010}}",
	                &c, &e),
	          GW_CONFIG_OK);
	CHECK_STR(c.scheduler.driver, "docker");
	CHECK_INT(c.scheduler.tick_ms, 200);
	CHECK_STR(c.scheduler.docker_socket, "/run/d.sock");
	CHECK_STR(c.scheduler.docker_registry_auth_file, "/etc/taskgate/registries.json");
	CHECK_INT(c.scheduler.dynamic_port_max, 30010);
	expect_error("{\"scheduler\": {\"driver\": \"fake\"}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.driver: must be \"process\" or \"docker\"");
	expect_error("{\"scheduler\": {\"tick_ms\": 10}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.tick_ms");
	expect_error("{\"scheduler\": {\"dynamic_port_min\": 50000, \"dynamic_port_max\": 40000}}",
	             GW_CONFIG_ERR_VALUE, "config: scheduler.dynamic_port_min");
	expect_error("{\"scheduler\": {\"docker_tcp\": \"10.0.0.1:2376\"}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.docker_tcp: needs scheduler.docker_tls_ca");
	expect_error("{\"scheduler\": {\"docker_tls_cert\": \"c.pem\"}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.docker_tls_cert");
	expect_error("{\"scheduler\": {\"docker_port_bind_ip\": \"localhost\"}}",
	             GW_CONFIG_ERR_VALUE, "config: scheduler.docker_port_bind_ip");
	expect_error("{\"scheduler\": {\"docker_registry_auth_file\": 7}}", GW_CONFIG_ERR_TYPE,
	             "config: scheduler.docker_registry_auth_file");
	expect_error("{\"scheduler\": {\"docker_network_mode\": \"awsvpc\"}}",
	             GW_CONFIG_ERR_VALUE, "config: scheduler.docker_network_mode");
	expect_error("{\"scheduler\": {\"drivers\": \"process\"}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: scheduler.drivers");
}

static void local_instance_lists_clusters_and_refuses_bad_ones(void)
{
	struct gw_config c;
	struct gw_config_error e;
	CHECK_INT(parse("{}", &c, &e), GW_CONFIG_OK);
	CHECK_INT(c.scheduler.n_local_instance, 0);
	CHECK_INT(c.scheduler.local_reserved_memory_mib, 256);
	CHECK_INT(parse("{\"scheduler\": {\"local_instance\": [\"default\", \"dev-1_a\"], "
	                "\"local_reserved_memory_mib\": 0}}",
	                &c, &e),
	          GW_CONFIG_OK);
	CHECK_INT(c.scheduler.n_local_instance, 2);
	CHECK_STR(c.scheduler.local_instance[0], "default");
	CHECK_STR(c.scheduler.local_instance[1], "dev-1_a");
	CHECK_INT(c.scheduler.local_reserved_memory_mib, 0);
	CHECK_INT(parse("{\"scheduler\": {\"local_instance\": []}}", &c, &e), GW_CONFIG_OK);
	CHECK_INT(c.scheduler.n_local_instance, 0);
	expect_error("{\"scheduler\": {\"local_instance\": \"default\"}}", GW_CONFIG_ERR_TYPE,
	             "config: scheduler.local_instance: expected a list of cluster names");
	expect_error("{\"scheduler\": {\"local_instance\": [\"a b\"]}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.local_instance[0]: a cluster name");
	expect_error("{\"scheduler\": {\"local_instance\": [\"x\", \"\"]}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.local_instance[1]: must not be empty");
	expect_error("{\"scheduler\": {\"local_instance\": [\"x\", \"x\"]}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.local_instance[1]: cluster x is named twice");
	expect_error("{\"scheduler\": {\"local_instance\": [\"a\",\"b\",\"c\",\"d\",\"e\","
	             "\"f\",\"g\",\"h\",\"i\"]}}",
	             GW_CONFIG_ERR_VALUE, "config: scheduler.local_instance: at most 8 clusters");
	expect_error("{\"scheduler\": {\"local_reserved_memory_mib\": -1}}", GW_CONFIG_ERR_VALUE,
	             "config: scheduler.local_reserved_memory_mib");
	/* the local host cannot stand for an engine on another machine */
	expect_error("{\"scheduler\": {\"driver\": \"docker\", \"docker_tcp\": \"10.0.0.1:2376\", "
	             "\"docker_tls_ca\": \"ca.pem\", \"local_instance\": [\"default\"]}}",
	             GW_CONFIG_ERR_VALUE,
	             "config: scheduler.local_instance: describes this machine");
	CHECK_INT(parse("{\"scheduler\": {\"driver\": \"docker\", \"local_instance\": "
	                "[\"default\"]}}",
	                &c, &e),
	          GW_CONFIG_OK);
}

static void an_empty_object_keeps_every_default(void)
{
	struct gw_config c, d;
	struct gw_config_error e;
	CHECK_INT(parse("{}", &c, &e), GW_CONFIG_OK);
	gw_config_defaults(&d);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
}

static void every_key_is_read_into_its_field(void)
{
	const char *text =
	    "{\"listen\": \"[::1]:9443\","
	    " \"tls\": {\"cert\": \"/etc/tg/s.crt\", \"key\": \"/etc/tg/s.key\","
	    "          \"priorities\": \"NORMAL:-VERS-ALL:+VERS-TLS1.3\"},"
	    " \"store\": {\"path\": \"/var/lib/tg.db\", \"synchronous\": \"NORMAL\","
	    "            \"busy_timeout_ms\": 250},"
	    " \"account_id\": \"444455556666\","
	    " \"region\": \"eu-central-1\","
	    " \"log\": {\"level\": \"debug\", \"format\": \"text\"},"
	    " \"limits\": {\"max_connections\": 10, \"max_connections_per_ip\": 3,"
	    "             \"connection_timeout_s\": 7, \"connection_memory_bytes\": 131072,"
	    "             \"max_body_bytes\": 2048},"
	    " \"server\": {\"threads\": 3, \"shutdown_timeout_s\": 0}}";
	struct gw_config c;
	struct gw_config_error e;
	CHECK_INT(parse(text, &c, &e), GW_CONFIG_OK);
	CHECK_INT(c.listen.family, AF_INET6);
	CHECK_STR(c.listen.address, "::1");
	CHECK_INT(c.listen.port, 9443);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&c.listen.addr)->sin6_port), 9443);
	CHECK_STR(c.tls.cert, "/etc/tg/s.crt");
	CHECK_STR(c.tls.key, "/etc/tg/s.key");
	CHECK_STR(c.tls.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	CHECK_STR(c.store.path, "/var/lib/tg.db");
	CHECK_STR(c.store.synchronous, "NORMAL");
	CHECK_INT(c.store.busy_timeout_ms, 250);
	CHECK_STR(c.account_id, "444455556666");
	CHECK_STR(c.region, "eu-central-1");
	CHECK_INT(c.log.level, GW_LOG_DEBUG);
	CHECK_INT(c.log.format, GW_LOG_FORMAT_TEXT);
	CHECK_INT(c.limits.max_connections, 10);
	CHECK_INT(c.limits.max_connections_per_ip, 3);
	CHECK_INT(c.limits.connection_timeout_s, 7);
	CHECK_INT(c.limits.connection_memory_bytes, 131072);
	CHECK_INT(c.limits.max_body_bytes, 2048);
	CHECK_INT(c.server.threads, 3);
	CHECK_INT(c.server.shutdown_timeout_s, 0);
}

static void listen_accepts_ipv4_and_bracketed_ipv6_with_any_port(void)
{
	struct gw_listen l;
	struct gw_config_error e;
	CHECK_INT(gw_config_parse_listen("127.0.0.1:8443", &l, &e), GW_CONFIG_OK);
	CHECK_INT(l.family, AF_INET);
	CHECK_INT(l.addr_len, sizeof(struct sockaddr_in));
	CHECK_INT(gw_config_parse_listen("0.0.0.0:0", &l, &e), GW_CONFIG_OK);
	CHECK_STR(l.address, "0.0.0.0");
	CHECK_INT(l.port, 0);
	CHECK_INT(gw_config_parse_listen("[::1]:65535", &l, &e), GW_CONFIG_OK);
	CHECK_INT(l.family, AF_INET6);
	CHECK_INT(l.addr_len, sizeof(struct sockaddr_in6));
	CHECK_INT(l.port, 65535);
	/* The canonical spelling is kept, for the log. */
	CHECK_INT(gw_config_parse_listen("[0:0:0:0:0:0:0:1]:80", &l, &e), GW_CONFIG_OK);
	CHECK_STR(l.address, "::1");
	CHECK_INT(gw_config_parse_listen("[::]:9000", &l, &e), GW_CONFIG_OK);
	CHECK_STR(l.address, "::");
}

static void listen_refuses_names_unbracketed_ipv6_and_bad_ports(void)
{
	static const char *const bad[] = {
	    "localhost:8443", "::1:8443",      "127.0.0.1", "127.0.0.1:65536",  "127.0.0.1:-1",
	    "[127.0.0.1]:80", "127.0.0.1:80x", "[::1]8443", "[::1]:",           ":8443",
	    "127.0.0.1: 80",  "[::1:80",       "1.2.3:80",  "127.0.0.1:123456",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gw_listen l;
		struct gw_config_error e = {0};
		int rc = gw_config_parse_listen(bad[i], &l, &e);
		if (rc != GW_CONFIG_ERR_VALUE) {
			check_fail(__FILE__, __LINE__, "bad listen address refused");
			printf("      accepted \"%s\"\n", bad[i]);
		}
		CHECK(strncmp(e.message, "config: listen:", 15) == 0);
	}
}

static void listen_object_form_sets_address_and_port(void)
{
	struct gw_config c;
	struct gw_config_error e;
	CHECK_INT(parse("{\"listen\": {\"address\": \"::1\", \"port\": 0}}", &c, &e), GW_CONFIG_OK);
	CHECK_INT(c.listen.family, AF_INET6);
	CHECK_INT(c.listen.port, 0);
	/* Only the port: the default address stays. */
	CHECK_INT(parse("{\"listen\": {\"port\": 9000}}", &c, &e), GW_CONFIG_OK);
	CHECK_STR(c.listen.address, "127.0.0.1");
	CHECK_INT(ntohs(((struct sockaddr_in *)&c.listen.addr)->sin_port), 9000);
	expect_error("{\"listen\": {\"port\": \"8443\"}}", GW_CONFIG_ERR_TYPE,
	             "config: listen.port: expected an integer");
	expect_error("{\"listen\": {\"port\": 70000}}", GW_CONFIG_ERR_VALUE,
	             "config: listen.port:");
	expect_error("{\"listen\": {\"address\": \"[::1]\"}}", GW_CONFIG_ERR_VALUE,
	             "config: listen.address:");
	expect_error("{\"listen\": {\"host\": \"::1\"}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: listen.host: unknown key");
	expect_error("{\"listen\": 8443}", GW_CONFIG_ERR_TYPE, "config: listen: expected a string");
}

static void unknown_keys_are_errors_naming_the_full_path(void)
{
	expect_error("{\"lisen\": \"127.0.0.1:1\"}", GW_CONFIG_ERR_UNKNOWN,
	             "config: lisen: unknown key");
	expect_error("{\"tls\": {\"certificate\": \"x\"}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: tls.certificate: unknown key");
	expect_error("{\"store\": {\"journal\": \"WAL\"}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: store.journal: unknown key");
	expect_error("{\"log\": {\"colour\": true}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: log.colour: unknown key");
	expect_error("{\"limits\": {\"max_body\": 1}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: limits.max_body: unknown key");
	expect_error("{\"server\": {\"workers\": 1}}", GW_CONFIG_ERR_UNKNOWN,
	             "config: server.workers: unknown key");
}

static void wrong_json_types_are_errors_naming_the_key(void)
{
	expect_error("{\"limits\": {\"max_body_bytes\": \"1MiB\"}}", GW_CONFIG_ERR_TYPE,
	             "config: limits.max_body_bytes: expected an integer");
	expect_error("{\"limits\": {\"max_connections\": 1.5}}", GW_CONFIG_ERR_TYPE,
	             "config: limits.max_connections: expected an integer");
	expect_error("{\"server\": {\"threads\": true}}", GW_CONFIG_ERR_TYPE,
	             "config: server.threads: expected an integer");
	expect_error("{\"tls\": {\"cert\": 5}}", GW_CONFIG_ERR_TYPE,
	             "config: tls.cert: expected a string");
	expect_error("{\"tls\": {\"key\": null}}", GW_CONFIG_ERR_TYPE,
	             "config: tls.key: expected a string");
	expect_error("{\"log\": []}", GW_CONFIG_ERR_TYPE, "config: log: expected an object");
	expect_error("{\"tls\": \"on\"}", GW_CONFIG_ERR_TYPE, "config: tls: expected an object");
	expect_error("{\"account_id\": 111122223333}", GW_CONFIG_ERR_TYPE,
	             "config: account_id: expected a string");
	expect_error("{\"store\": {\"busy_timeout_ms\": \"5s\"}}", GW_CONFIG_ERR_TYPE,
	             "config: store.busy_timeout_ms: expected an integer");
	expect_error("[1, 2]", GW_CONFIG_ERR_TYPE, "must be a JSON object");
}

static void values_out_of_range_or_shape_are_refused(void)
{
	expect_error("{\"account_id\": \"12345\"}", GW_CONFIG_ERR_VALUE, "config: account_id:");
	expect_error("{\"account_id\": \"11112222333a\"}", GW_CONFIG_ERR_VALUE,
	             "config: account_id:");
	expect_error("{\"region\": \"US-EAST-1\"}", GW_CONFIG_ERR_VALUE, "config: region:");
	expect_error("{\"region\": \"us-east\"}", GW_CONFIG_ERR_VALUE, "config: region:");
	expect_error("{\"region\": \"us--1\"}", GW_CONFIG_ERR_VALUE, "config: region:");
	expect_error("{\"log\": {\"level\": \"verbose\"}}", GW_CONFIG_ERR_VALUE,
	             "config: log.level:");
	expect_error("{\"log\": {\"format\": \"xml\"}}", GW_CONFIG_ERR_VALUE,
	             "config: log.format:");
	expect_error("{\"store\": {\"synchronous\": \"OFF\"}}", GW_CONFIG_ERR_VALUE,
	             "config: store.synchronous:");
	expect_error("{\"store\": {\"path\": \"\"}}", GW_CONFIG_ERR_VALUE,
	             "config: store.path: must not be empty");
	expect_error("{\"tls\": {\"priorities\": \"NORMAL:+BOGUS-THING\"}}", GW_CONFIG_ERR_VALUE,
	             "config: tls.priorities:");
	expect_error("{\"limits\": {\"max_connections\": 0}}", GW_CONFIG_ERR_VALUE,
	             "config: limits.max_connections:");
	expect_error("{\"limits\": {\"connection_timeout_s\": 0}}", GW_CONFIG_ERR_VALUE,
	             "config: limits.connection_timeout_s:");
	expect_error("{\"limits\": {\"max_body_bytes\": -1}}", GW_CONFIG_ERR_VALUE,
	             "config: limits.max_body_bytes:");
	expect_error("{\"limits\": {\"connection_memory_bytes\": 1024}}", GW_CONFIG_ERR_VALUE,
	             "config: limits.connection_memory_bytes:");
	expect_error("{\"server\": {\"threads\": 1000}}", GW_CONFIG_ERR_VALUE,
	             "config: server.threads:");
	expect_error("{\"limits\": {\"max_connections\": 5, \"max_connections_per_ip\": 6}}",
	             GW_CONFIG_ERR_VALUE, "config: limits.max_connections_per_ip:");
	/* jansson refuses an escaped NUL before our own check sees it. */
	expect_error("{\"tls\": {\"cert\": \"a\\u0000b\"}}", GW_CONFIG_ERR_SYNTAX,
	             "is not allowed");
}

static void accepted_region_names_follow_aws_spelling(void)
{
	static const char *const good[] = {"us-east-1", "us-gov-west-1", "ap-southeast-4",
	                                   "cn-north-1", "eu-central-2"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[128];
		struct gw_config c;
		struct gw_config_error e;
		int w = snprintf(text, sizeof(text), "{\"region\": \"%s\"}", good[i]);
		CHECK(w > 0 && (size_t)w < sizeof(text));
		CHECK_INT(parse(text, &c, &e), GW_CONFIG_OK);
		CHECK_STR(c.region, good[i]);
	}
}

static void syntax_errors_and_duplicate_keys_give_a_position(void)
{
	expect_error("{\"listen\": ", GW_CONFIG_ERR_SYNTAX, "config: line 1");
	expect_error("{\"region\": \"us-east-1\",\n \"region\": \"eu-west-1\"}",
	             GW_CONFIG_ERR_SYNTAX, "config: line 2");
	expect_error("", GW_CONFIG_ERR_SYNTAX, "config:");
}

static void load_reads_a_file_and_reports_missing_or_oversized_ones(void)
{
	char dir[] = "/tmp/tg-config-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/c.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{\"listen\": \"127.0.0.1:0\", \"log\": {\"level\": \"warn\"}}\n", f);
	fclose(f);
	struct gw_config c;
	struct gw_config_error e = {0};
	CHECK_INT(gw_config_load(path, &c, &e), GW_CONFIG_OK);
	CHECK_INT(c.listen.port, 0);
	CHECK_INT(c.log.level, GW_LOG_WARN);
	CHECK_STR(c.region, "us-east-1"); /* defaults under the file */

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope.json", dir);
	CHECK_INT(gw_config_load(missing, &c, &e), GW_CONFIG_ERR_IO);
	CHECK(strstr(e.message, "nope.json") != NULL);
	CHECK_INT(gw_config_load(dir, &c, &e), GW_CONFIG_ERR_IO);

	char big[300];
	snprintf(big, sizeof(big), "%s/big.json", dir);
	f = fopen(big, "w");
	CHECK(f != NULL);
	if (f) {
		for (unsigned i = 0; i <= GW_CONFIG_FILE_MAX / 8; i++)
			fputs("        ", f);
		fclose(f);
		CHECK_INT(gw_config_load(big, &c, &e), GW_CONFIG_ERR_IO);
		CHECK(strstr(e.message, "larger than") != NULL);
		unlink(big);
	}
	unlink(path);
	rmdir(dir);
}

static void listen_format_brackets_ipv6_only(void)
{
	struct gw_listen l;
	struct gw_config_error e;
	char out[64];
	CHECK_INT(gw_config_parse_listen("[::1]:0", &l, &e), GW_CONFIG_OK);
	CHECK_INT(gw_listen_format(&l, 43121, out, sizeof(out)), 0);
	CHECK_STR(out, "[::1]:43121");
	CHECK_INT(gw_config_parse_listen("127.0.0.1:8443", &l, &e), GW_CONFIG_OK);
	CHECK_INT(gw_listen_format(&l, 8443, out, sizeof(out)), 0);
	CHECK_STR(out, "127.0.0.1:8443");
	CHECK_INT(gw_listen_format(&l, 8443, out, 8), -1);
}

static const struct check_case cases[] = {
    {"defaults are the documented values", defaults_are_documented_values},
    {"scheduler keys have their documented defaults and rules",
     scheduler_keys_have_their_documented_defaults_and_rules},
    {"local_instance lists clusters to join and refuses bad ones",
     local_instance_lists_clusters_and_refuses_bad_ones},
    {"an empty object keeps every default", an_empty_object_keeps_every_default},
    {"every key is read into its field", every_key_is_read_into_its_field},
    {"listen accepts IPv4 and bracketed IPv6 with any port",
     listen_accepts_ipv4_and_bracketed_ipv6_with_any_port},
    {"listen refuses host names, unbracketed IPv6 and bad ports",
     listen_refuses_names_unbracketed_ipv6_and_bad_ports},
    {"listen object form sets address and port", listen_object_form_sets_address_and_port},
    {"unknown keys are errors naming the full path", unknown_keys_are_errors_naming_the_full_path},
    {"wrong JSON types are errors naming the key", wrong_json_types_are_errors_naming_the_key},
    {"values out of range or shape are refused", values_out_of_range_or_shape_are_refused},
    {"region names in AWS spelling are accepted", accepted_region_names_follow_aws_spelling},
    {"syntax errors and duplicate keys give a position",
     syntax_errors_and_duplicate_keys_give_a_position},
    {"load reads a file and reports missing or oversized ones",
     load_reads_a_file_and_reports_missing_or_oversized_ones},
    {"listen format brackets IPv6 only", listen_format_brackets_ipv6_only},
};

CHECK_MAIN(cases)
