// --source-pop3 / --source-sieve values (options/service_choice.h) and where they lead
// (engine/source_services.h).

#include "engine/source_services.h"

#include <gtest/gtest.h>

#include "options/option_values.h"

namespace migrate {
namespace {

SourceOptions imapSide(TlsMode mode, const std::string& pop3 = "auto", const std::string& sieve = "auto") {
  SourceOptions src;
  src.host = "imap.old.example";
  src.tlsMode = mode;
  src.tlsModeSet = true;
  src.pop3 = parseServiceChoice(pop3, "--source-pop3").value();
  src.sieve = parseServiceChoice(sieve, "--source-sieve").value();
  src.applyDefaults();
  return src;
}

TEST(ServiceChoiceTest, ReadsAutoNoHostAndPort) {
  EXPECT_EQ(parseServiceChoice("AUTO", "x").value().mode, ServiceChoice::Mode::Auto);
  EXPECT_EQ(parseServiceChoice("no", "x").value().mode, ServiceChoice::Mode::No);
  ServiceChoice c = parseServiceChoice("pop.old.example:1995", "x").value();
  EXPECT_EQ(c.mode, ServiceChoice::Mode::Host);
  EXPECT_EQ(c.host, "pop.old.example");
  EXPECT_EQ(c.port, 1995);
  c = parseServiceChoice("[2001:db8::1]:995", "x").value();
  EXPECT_EQ(c.host, "2001:db8::1");
  EXPECT_EQ(c.port, 995);
  EXPECT_EQ(describeServiceChoice(c), "[2001:db8::1]:995");
  c = parseServiceChoice("2001:db8::1", "x").value();
  EXPECT_EQ(c.host, "2001:db8::1");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(describeServiceChoice(parseServiceChoice("pop.old.example", "x").value()), "pop.old.example");
}

TEST(ServiceChoiceTest, ABadValueSaysWhatIsWrongAndWhatIsAccepted) {
  Status st = parseServiceChoice("pop.old.example:99999", "--source-pop3").status();
  EXPECT_EQ(st.kind(), ErrorKind::Config);
  EXPECT_EQ(st.message(),
            "invalid --source-pop3 'pop.old.example:99999': '99999' is not a port from 1 to 65535");
  EXPECT_NE(st.hint().find("auto"), std::string::npos);
  EXPECT_FALSE(parseServiceChoice("pop old", "x").isOk());
  EXPECT_FALSE(parseServiceChoice("[::1", "x").isOk());
  EXPECT_FALSE(parseServiceChoice("pop:", "x").isOk());
  EXPECT_EQ(options::checkValue(options::Kind::SERVICE, "migrate_source_sieve", "sieve:0").message(),
            "invalid migrate_source_sieve 'sieve:0': '0' is not a port from 1 to 65535");
  EXPECT_TRUE(options::checkValue(options::Kind::SERVICE, "migrate_source_pop3", "no").isOk());
}

TEST(ServiceEndpointTest, Pop3FollowsTheImapSidesTls) {
  ServiceEndpoint ep = pop3Endpoint(imapSide(TlsMode::Imaps));
  EXPECT_EQ(ep.describe(), "imap.old.example:995 (TLS)");
  EXPECT_TRUE(ep.automatic);
  EXPECT_EQ(pop3Endpoint(imapSide(TlsMode::StartTls)).describe(), "imap.old.example:110 (STARTTLS)");
  EXPECT_EQ(pop3Endpoint(imapSide(TlsMode::None)).describe(), "imap.old.example:110 (no TLS)");
  // A named port 995 or 110 speaks as that port does; another follows the IMAP side.
  EXPECT_EQ(pop3Endpoint(imapSide(TlsMode::StartTls, "pop.old.example:995")).describe(),
            "pop.old.example:995 (TLS)");
  EXPECT_EQ(pop3Endpoint(imapSide(TlsMode::Imaps, "pop.old.example:110")).describe(),
            "pop.old.example:110 (STARTTLS)");
  EXPECT_EQ(pop3Endpoint(imapSide(TlsMode::Imaps, "pop.old.example:1995")).describe(),
            "pop.old.example:1995 (TLS)");
  EXPECT_FALSE(pop3Endpoint(imapSide(TlsMode::Imaps, "pop.old.example")).automatic);
}

TEST(ServiceEndpointTest, ManageSieveUsesStartTlsOn4190) {
  EXPECT_EQ(sieveEndpoint(imapSide(TlsMode::Imaps)).describe(), "imap.old.example:4190 (STARTTLS)");
  EXPECT_EQ(sieveEndpoint(imapSide(TlsMode::None)).describe(), "imap.old.example:4190 (no TLS)");
  EXPECT_EQ(sieveEndpoint(imapSide(TlsMode::Imaps, "no", "sieve.old.example:2000")).describe(),
            "sieve.old.example:2000 (STARTTLS)");
}

}  // namespace
}  // namespace migrate
