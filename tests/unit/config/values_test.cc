#include "config/values.h"

#include <gtest/gtest.h>

namespace turnpike::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEveryUnitAndCompounds) {
  EXPECT_EQ(parse_duration("250ms").value, milliseconds(250));
  EXPECT_EQ(parse_duration("5s").value, seconds(5));
  EXPECT_EQ(parse_duration("1m").value, minutes(1));
  EXPECT_EQ(parse_duration("1h").value, hours(1));
  EXPECT_EQ(parse_duration("1m30s").value, seconds(90));
  EXPECT_EQ(parse_duration("1h2m3s4ms").value, milliseconds(3723004));
  EXPECT_EQ(parse_duration("0s").value, milliseconds(0));
}

TEST(ParseDuration, RejectsWithAReason) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"5x", "invalid duration \"5x\": unknown unit \"x\" (use ms, s, m, h)"},
      {"5", "invalid duration \"5\": missing unit (use ms, s, m, h)"},
      {"1m30", "invalid duration \"1m30\": missing unit (use ms, s, m, h)"},
      {"1.5s",
       "invalid duration \"1.5s\": fractions are not supported (e.g. write 1500ms for "
       "1.5s)"},
      {"-5s", "invalid duration \"-5s\": must not be negative"},
      {"", "invalid duration \"\": empty (use e.g. 250ms, 5s, 1m, 1h)"},
      {"s", "invalid duration \"s\": expected a number and a unit (e.g. 250ms, 5s, 1m30s)"},
      {"5 s", "invalid duration \"5 s\": unknown unit \" s\" (use ms, s, m, h)"},
      {"30s1m",
       "invalid duration \"30s1m\": units must go from the largest to the smallest, "
       "once each"},
      {"1s1s",
       "invalid duration \"1s1s\": units must go from the largest to the smallest, "
       "once each"},
      {"99999999999999999999s", "invalid duration \"99999999999999999999s\": too large"},
      {"9223372036854775807h", "invalid duration \"9223372036854775807h\": too large"},
  };
  for (const Case& c : cases) {
    Parsed<Duration> parsed = parse_duration(c.text);
    EXPECT_FALSE(parsed.value) << c.text;
    EXPECT_EQ(parsed.error, c.error);
  }
}

TEST(ParseSize, AcceptsBytesAndUnits) {
  EXPECT_EQ(parse_size("0").value, 0u);
  EXPECT_EQ(parse_size("1048576").value, 1048576u);
  EXPECT_EQ(parse_size("512B").value, 512u);
  EXPECT_EQ(parse_size("64KiB").value, 64u * 1024);
  EXPECT_EQ(parse_size("10MiB").value, 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB").value, 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("2KB").value, 2000u);
  EXPECT_EQ(parse_size("3MB").value, 3000000u);
  EXPECT_EQ(parse_size("1GB").value, 1000000000u);
  EXPECT_EQ(parse_size("18446744073709551615").value, 18446744073709551615u);
}

TEST(ParseSize, RejectsWithAReason) {
  EXPECT_EQ(parse_size("10XB").error,
            "invalid size \"10XB\": unknown unit \"XB\" (use KiB, MiB, GiB, KB, MB, GB, or a "
            "plain number of bytes)");
  EXPECT_EQ(parse_size("10mib").error,
            "invalid size \"10mib\": unknown unit \"mib\" (use KiB, MiB, GiB, KB, MB, GB, or a "
            "plain number of bytes)");
  EXPECT_EQ(parse_size("-1").error, "invalid size \"-1\": must not be negative");
  EXPECT_EQ(parse_size("1.5MiB").error,
            "invalid size \"1.5MiB\": fractions are not supported (e.g. write 1536KiB for "
            "1.5MiB)");
  EXPECT_EQ(parse_size("18446744073709551616").error,
            "invalid size \"18446744073709551616\": too large");
  EXPECT_EQ(parse_size("17179869184GiB").error, "invalid size \"17179869184GiB\": too large");
  EXPECT_EQ(parse_size("KiB").error,
            "invalid size \"KiB\": expected a number of bytes, optionally with a unit (e.g. "
            "64KiB)");
  EXPECT_FALSE(parse_size("").value);
}

TEST(ParseHostPort, ListenerForm) {
  EXPECT_EQ(parse_host_port("0.0.0.0:8080", HostForm::kListener).value,
            (HostPort{"0.0.0.0", 8080}));
  EXPECT_EQ(parse_host_port(":8080", HostForm::kListener).value, (HostPort{"", 8080}));
  EXPECT_EQ(parse_host_port("[::1]:9901", HostForm::kListener).value, (HostPort{"::1", 9901}));
  EXPECT_EQ(parse_host_port("[0:0::1]:1", HostForm::kListener).value, (HostPort{"::1", 1}));
  EXPECT_EQ(parse_host_port("localhost:9901", HostForm::kListener).value,
            (HostPort{"127.0.0.1", 9901}));
  EXPECT_EQ(parse_host_port("127.0.0.1:65535", HostForm::kListener).value,
            (HostPort{"127.0.0.1", 65535}));

  EXPECT_EQ(parse_host_port("api.local:80", HostForm::kListener).error,
            "invalid address \"api.local:80\": a listen address must be an IP address, not "
            "\"api.local\"");
  EXPECT_EQ(parse_host_port("127.0.0.1", HostForm::kListener).error,
            "invalid address \"127.0.0.1\": missing port (e.g. 127.0.0.1:8080)");
  EXPECT_EQ(parse_host_port("127.0.0.1:0", HostForm::kListener).error,
            "invalid address \"127.0.0.1:0\": invalid port \"0\" (1-65535)");
  EXPECT_EQ(parse_host_port("127.0.0.1:65536", HostForm::kListener).error,
            "invalid address \"127.0.0.1:65536\": invalid port \"65536\" (1-65535)");
  EXPECT_EQ(parse_host_port("127.0.0.1:http", HostForm::kListener).error,
            "invalid address \"127.0.0.1:http\": invalid port \"http\" (1-65535)");
  EXPECT_EQ(parse_host_port("::1:80", HostForm::kListener).error,
            "invalid address \"::1:80\": an IPv6 address needs brackets, e.g. [::1]:8080");
  EXPECT_EQ(parse_host_port("[10.0.0.1]:80", HostForm::kListener).error,
            "invalid address \"[10.0.0.1]:80\": invalid IPv6 address \"10.0.0.1\"");
  EXPECT_EQ(parse_host_port("http://127.0.0.1:80", HostForm::kListener).error,
            "invalid address \"http://127.0.0.1:80\": give host:port, without a scheme");
  EXPECT_FALSE(parse_host_port("256.0.0.1:80", HostForm::kListener).value);
}

TEST(ParseHostPort, TargetFormAllowsNames) {
  EXPECT_EQ(parse_host_port("users.internal:8080", HostForm::kTarget).value,
            (HostPort{"users.internal", 8080}));
  EXPECT_EQ(parse_host_port("svc:80", HostForm::kTarget).value, (HostPort{"svc", 80}));
  EXPECT_EQ(parse_host_port("my_svc-1:80", HostForm::kTarget).value, (HostPort{"my_svc-1", 80}));
  EXPECT_EQ(parse_host_port("10.0.0.1:80", HostForm::kTarget).value, (HostPort{"10.0.0.1", 80}));
  EXPECT_EQ(parse_host_port(":80", HostForm::kTarget).error,
            "invalid address \":80\": missing host");
  EXPECT_EQ(parse_host_port("bad host:80", HostForm::kTarget).error,
            "invalid address \"bad host:80\": invalid host \"bad host\"");
  // Looks like an IP, is not one, and is not a name either.
  EXPECT_EQ(parse_host_port("10.0.0.256:80", HostForm::kTarget).error,
            "invalid address \"10.0.0.256:80\": invalid host \"10.0.0.256\"");
}

TEST(HostPort, ToString) {
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).to_string(), "127.0.0.1:80");
  EXPECT_EQ((HostPort{"::1", 80}).to_string(), "[::1]:80");
  EXPECT_EQ((HostPort{"", 8080}).to_string(), ":8080");
  EXPECT_EQ((HostPort{"svc", 9000}).to_string(), "svc:9000");
}

TEST(ParseIp, MapsIpv4IntoIpv6) {
  IpAddress v4 = *parse_ip("10.1.2.3").value;
  EXPECT_EQ(v4, (IpAddress{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}));
  EXPECT_TRUE(is_ipv4_mapped(v4));
  IpAddress v6 = *parse_ip("2001:db8::1").value;
  EXPECT_EQ(v6[0], 0x20);
  EXPECT_EQ(v6[15], 1);
  EXPECT_FALSE(is_ipv4_mapped(v6));
  EXPECT_EQ(parse_ip("::ffff:10.1.2.3").value, v4);
  EXPECT_EQ(ip_to_string(v4), "10.1.2.3");
  EXPECT_EQ(ip_to_string(*parse_ip("2001:DB8:0:0::1").value), "2001:db8::1");
  EXPECT_EQ(parse_ip("10.1.2").error, "invalid IP address \"10.1.2\"");
  EXPECT_FALSE(parse_ip("010.1.2.3").value);  // no octal surprises
  EXPECT_FALSE(parse_ip("[::1]").value);
  EXPECT_FALSE(parse_ip("").value);
  EXPECT_FALSE(parse_ip("fe80::1%eth0").value);
}

TEST(ParseCidr, ParsesMasksAndContains) {
  Cidr ten = *parse_cidr("10.0.0.0/8").value;
  EXPECT_EQ(ten.prefix_bits, 96 + 8);
  EXPECT_TRUE(ten.contains(*parse_ip("10.255.0.1").value));
  EXPECT_FALSE(ten.contains(*parse_ip("11.0.0.1").value));
  EXPECT_FALSE(ten.contains(*parse_ip("::1").value));

  // Host bits are cleared.
  EXPECT_EQ(parse_cidr("10.1.2.3/8").value, ten);
  Cidr odd = *parse_cidr("192.168.1.200/27").value;
  EXPECT_EQ(odd, *parse_cidr("192.168.1.192/27").value);
  EXPECT_TRUE(odd.contains(*parse_ip("192.168.1.223").value));
  EXPECT_FALSE(odd.contains(*parse_ip("192.168.1.224").value));

  Cidr one = *parse_cidr("127.0.0.1").value;
  EXPECT_EQ(one.prefix_bits, 128);
  EXPECT_TRUE(one.contains(*parse_ip("127.0.0.1").value));
  EXPECT_FALSE(one.contains(*parse_ip("127.0.0.2").value));

  Cidr v6 = *parse_cidr("2001:db8::/32").value;
  EXPECT_EQ(v6.prefix_bits, 32);
  EXPECT_TRUE(v6.contains(*parse_ip("2001:db8:ffff::1").value));
  EXPECT_FALSE(v6.contains(*parse_ip("2001:db9::1").value));
  EXPECT_EQ(parse_cidr("::1").value->prefix_bits, 128);

  Cidr all = *parse_cidr("::/0").value;
  EXPECT_TRUE(all.contains(*parse_ip("1.2.3.4").value));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0").value->contains(*parse_ip("1.2.3.4").value));
  EXPECT_FALSE(parse_cidr("0.0.0.0/0").value->contains(*parse_ip("::2").value));
}

TEST(ParseCidr, Rejects) {
  EXPECT_EQ(parse_cidr("10.0.0.0/33").error,
            "invalid CIDR \"10.0.0.0/33\": prefix length must be 0..32");
  EXPECT_EQ(parse_cidr("::/129").error, "invalid CIDR \"::/129\": prefix length must be 0..128");
  EXPECT_EQ(parse_cidr("10.0.0.0/").error,
            "invalid CIDR \"10.0.0.0/\": prefix length must be 0..32");
  EXPECT_EQ(parse_cidr("10.0.0.0/x").error,
            "invalid CIDR \"10.0.0.0/x\": prefix length must be 0..32");
  EXPECT_EQ(parse_cidr("10.0.0/8").error,
            "invalid CIDR \"10.0.0/8\": invalid IP address \"10.0.0\"");
}

TEST(IsLoopback, RecognizesLoopbackAddresses) {
  EXPECT_TRUE(is_loopback({"127.0.0.1", 1}));
  EXPECT_TRUE(is_loopback({"127.9.9.9", 1}));
  EXPECT_TRUE(is_loopback({"::1", 1}));
  EXPECT_TRUE(is_loopback({"::ffff:127.0.0.1", 1}));
  EXPECT_TRUE(is_loopback({"localhost", 1}));
  EXPECT_TRUE(is_loopback({"LocalHost", 1}));
  EXPECT_FALSE(is_loopback({"", 1}));
  EXPECT_FALSE(is_loopback({"0.0.0.0", 1}));
  EXPECT_FALSE(is_loopback({"::", 1}));
  EXPECT_FALSE(is_loopback({"10.0.0.1", 1}));
  EXPECT_FALSE(is_loopback({"128.0.0.1", 1}));
  EXPECT_FALSE(is_loopback({"example.com", 1}));
}

TEST(IsValidHostName, Rules) {
  EXPECT_TRUE(is_valid_host_name("example.com"));
  EXPECT_TRUE(is_valid_host_name("a-b.c_d.example"));
  EXPECT_TRUE(is_valid_host_name("localhost"));
  EXPECT_TRUE(is_valid_host_name("1password.com"));
  EXPECT_FALSE(is_valid_host_name(""));
  EXPECT_FALSE(is_valid_host_name("a..b"));
  EXPECT_FALSE(is_valid_host_name(".a"));
  EXPECT_FALSE(is_valid_host_name("a."));
  EXPECT_FALSE(is_valid_host_name("-a.com"));
  EXPECT_FALSE(is_valid_host_name("a-.com"));
  EXPECT_FALSE(is_valid_host_name("a b"));
  EXPECT_FALSE(is_valid_host_name("1.2.3.4"));
  EXPECT_FALSE(is_valid_host_name(std::string(64, 'a') + ".com"));
}

TEST(ParseUrl, SplitsSchemeHostPortAndPath) {
  Url url = *parse_url("http://127.0.0.1:9001").value;
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host_port, (HostPort{"127.0.0.1", 9001}));
  EXPECT_EQ(url.path, "");
  url = *parse_url("HTTP://svc/base/path").value;
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host_port, (HostPort{"svc", 80}));
  EXPECT_EQ(url.path, "/base/path");
  EXPECT_EQ(parse_url("https://[::1]").value->host_port, (HostPort{"::1", 443}));

  EXPECT_EQ(parse_url("svc:80").error, "invalid URL \"svc:80\": expected scheme://host:port");
  EXPECT_EQ(parse_url("grpc://svc").error,
            "invalid URL \"grpc://svc\": missing port (e.g. "
            "127.0.0.1:8080)");
  EXPECT_EQ(parse_url("http://svc/x?y=1").error,
            "invalid URL \"http://svc/x?y=1\": a query or fragment is not allowed");
  EXPECT_EQ(parse_url("http://u:p@svc").error,
            "invalid URL \"http://u:p@svc\": user info is not allowed");
  EXPECT_EQ(parse_url("http://:80").error, "invalid URL \"http://:80\": missing host");
}

}  // namespace
}  // namespace turnpike::config
