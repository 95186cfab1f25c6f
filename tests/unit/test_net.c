/* Unit tests of the job's networking options: -p, --add-host, --network,
 * and the /etc/hosts and /etc/resolv.conf each mode gives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "job/job-internal.h"

static void expect_error(int rc, struct skiff_error **e, const char *id, const char *part)
{
	assert_int_equal(rc, -1);
	assert_non_null(*e);
	assert_string_equal((*e)->id, id);
	assert_non_null(strstr((*e)->msg, part));
	skiff_error_free(*e);
	*e = NULL;
}

static void test_port_parse(void **state)
{
	struct job_port p;
	struct skiff_error *e = NULL;

	(void)state;
	assert_int_equal(job_port_parse("8080:80", &p, &e), 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.ctr_port, 80);
	assert_false(p.udp);
	assert_int_equal(p.family, AF_UNSPEC);
	assert_string_equal(p.host_ip, "");

	assert_int_equal(job_port_parse("127.0.0.1:5353:53/udp", &p, &e), 0);
	assert_true(p.udp);
	assert_int_equal(p.family, AF_INET);
	assert_string_equal(p.host_ip, "127.0.0.1");
	assert_int_equal(p.host_port, 5353);
	assert_int_equal(p.ctr_port, 53);

	assert_int_equal(job_port_parse("[::1]:8443:443/tcp", &p, &e), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_string_equal(p.host_ip, "::1");
	assert_int_equal(p.host_port, 8443);
	assert_null(e);

	static const char *bad[] = { "80", "0:80", "8080:65536", "8080:80/sctp", "a:b",
				     "8080:", ":80", "[::1:80:80", "[::1]8080:80", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(job_port_parse(bad[i], &p, &e), &e, "job.network.publish_invalid",
			     "expected [HOST_IP:]HOST_PORT");
	expect_error(job_port_parse("1.2.3:8080:80", &p, &e), &e, "job.network.publish_invalid",
		     "the host address");
	expect_error(job_port_parse("[nothost]:8080:80", &p, &e), &e,
		     "job.network.publish_invalid", "the host address");
}

static void test_add_host_parse(void **state)
{
	struct skiff_error *e = NULL;
	char *name = NULL, *ip = NULL;

	(void)state;
	assert_int_equal(job_add_host_parse("db.local:192.0.2.7", &name, &ip, &e), 0);
	assert_string_equal(name, "db.local");
	assert_string_equal(ip, "192.0.2.7");
	free(name);
	free(ip);
	/* The name ends at the first colon: an IPv6 address follows whole. */
	assert_int_equal(job_add_host_parse("v6:fd00::1", &name, &ip, &e), 0);
	assert_string_equal(name, "v6");
	assert_string_equal(ip, "fd00::1");
	free(name);
	free(ip);
	assert_int_equal(job_add_host_parse("v6:[fd00::2]", &name, &ip, &e), 0);
	assert_string_equal(ip, "fd00::2");
	free(name);
	free(ip);
	static const char *bad[] = { "noip", ":1.2.3.4", "a b:1.2.3.4", "x:300.1.1.1", "x:",
				     "x:name" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(job_add_host_parse(bad[i], &name, &ip, &e), &e,
			     "job.network.add_host_invalid", "expected NAME:IP");
}

static void test_network_parse(void **state)
{
	struct job_options o = { 0 };
	struct skiff_error *e = NULL;

	(void)state;
	assert_int_equal(job_network_parse("pasta", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_PASTA);
	assert_int_equal(job_network_parse("slirp4netns", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_SLIRP4NETNS);
	assert_int_equal(job_network_parse("private", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_PRIVATE);
	assert_int_equal(job_network_parse("ns:/proc/1/ns/net", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_NS);
	assert_string_equal(o.network_ns, "/proc/1/ns/net");
	assert_int_equal(job_network_parse("none", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_NONE);
	assert_null(o.network_ns);
	assert_int_equal(job_network_parse("host", &o, &e), 0);
	assert_int_equal(o.network, JOB_NETWORK_HOST);
	expect_error(job_network_parse("bridge", &o, &e), &e, "job.network.invalid",
		     "expected none, host, pasta");
	expect_error(job_network_parse("ns:net", &o, &e), &e, "job.network.invalid",
		     "absolute path");
}

static void test_hosts(void **state)
{
	char *hosts_v[] = { "web.test:192.0.2.9", NULL };
	struct job_options o = { .add_hosts = hosts_v };
	struct job_net n = JOB_NET_INIT;
	char *text;

	(void)state;
	n.mode = JOB_NETWORK_SLIRP4NETNS;
	strcpy(n.gateway, "10.0.2.2");
	text = job_net_hosts(&n, &o, "box");
	assert_string_equal(text, "127.0.0.1\tlocalhost\n"
				  "::1\tlocalhost ip6-localhost ip6-loopback\n"
				  "127.0.1.1\tbox\n"
				  "10.0.2.2\thost.containers.internal\n"
				  "192.0.2.9\tweb.test\n");
	free(text);
	/* none: no host entry, whatever the gateway field says */
	n.mode = JOB_NETWORK_NONE;
	o.add_hosts = NULL;
	text = job_net_hosts(&n, &o, "box");
	assert_null(strstr(text, "host.containers.internal"));
	free(text);
}

static void test_resolv_conf(void **state)
{
	char *dns_v[] = { "192.0.2.53", "2001:db8::53", NULL };
	struct job_options o = { 0 };
	struct job_net n = JOB_NET_INIT;
	char *text;

	(void)state;
	n.mode = JOB_NETWORK_PASTA;
	text = job_net_resolv_conf(&n, &o);
	assert_true(strncmp(text, "nameserver 169.254.1.1\n", 23) == 0);
	assert_null(strstr(text + 23, "nameserver"));
	free(text);
	n.mode = JOB_NETWORK_SLIRP4NETNS;
	text = job_net_resolv_conf(&n, &o);
	assert_true(strncmp(text, "nameserver 10.0.2.3\n", 20) == 0);
	assert_null(strstr(text + 20, "nameserver"));
	free(text);
	o.dns = dns_v;
	text = job_net_resolv_conf(&n, &o);
	assert_true(strncmp(text, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n", 46) == 0);
	assert_null(strstr(text + 46, "nameserver"));
	free(text);
	/* none: no loopback name server (the host's would not answer there) */
	o.dns = NULL;
	n.mode = JOB_NETWORK_NONE;
	text = job_net_resolv_conf(&n, &o);
	assert_null(strstr(text, "nameserver 127."));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_parse),
		cmocka_unit_test(test_add_host_parse),
		cmocka_unit_test(test_network_parse),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_resolv_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
