//! Which librdkafka client properties a table may set as `properties.*`, decided without
//! building a librdkafka configuration: the operator validates tables inside a
//! cluster-privileged process and must never load a library, read a file or run a command a
//! table names (`plugin.library.paths`, `ssl.engine.location`, `sasl.kerberos.kinit.cmd`, ...).
//! Values are checked by librdkafka itself when the executor starts its consumer.
//!
//! The lists come from librdkafka 2.12's `CONFIGURATION.md` (the version `rdkafka-sys` links):
//! every property that applies to consumers (`C/P` = `*` or `C`), minus callbacks and
//! internal pointers, minus the [`Property::Denied`] ones, minus the [`Property::Secret`] ones
//! (librdkafka marks them sensitive and redacts them from its own logs).

/// What a `properties.<name>` key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property {
    /// A consumer property a table may set in `options`.
    Allowed,
    /// A credential: it may only come from a Secret (`optionsFrom`).
    Secret,
    /// Never accepted: it makes librdkafka load code, read a file or run a command inside the
    /// pod (the reason says which).
    Denied(&'static str),
    /// Not a librdkafka consumer property.
    Unknown,
}

/// Credentials: librdkafka's sensitive properties that hold a secret. (`sasl.username` and
/// `ssl.ca.pem` are sensitive to librdkafka too, but are not secrets: they may stay in the spec.)
pub const SECRET: &[&str] = &[
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.private.key.pem",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
];

/// Properties that load code or run commands, by name.
const DENIED: &[(&str, &str)] = &[
    (
        "plugin.library.paths",
        "it makes librdkafka load shared libraries (dlopen)",
    ),
    ("interceptors", "it loads interceptor code"),
    (
        "ssl.engine.id",
        "it selects an OpenSSL engine (native code)",
    ),
    (
        "ssl.providers",
        "it makes OpenSSL load provider modules (native code)",
    ),
    (
        "sasl.kerberos.kinit.cmd",
        "it is a shell command librdkafka runs",
    ),
    ("sasl.kerberos.keytab", "it names a file inside the pod"),
    (
        "ssl.ca.certificate.stores",
        "it names a system certificate store",
    ),
    (
        "offset.store.method",
        "Sluice stores offsets itself, never in local files",
    ),
    ("offset.store.path", "it names a file inside the pod"),
];

/// Consumer properties a table may set.
const ALLOWED: &[&str] = &[
    "allow.auto.create.topics",
    "api.version.fallback.ms",
    "api.version.request",
    "api.version.request.timeout.ms",
    "auto.commit.enable",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "bootstrap.servers",
    "broker.address.family",
    "broker.address.ttl",
    "broker.version.fallback",
    "check.crcs",
    "client.dns.lookup",
    "client.id",
    "client.rack",
    "connections.max.idle.ms",
    "consume.callback.max.messages",
    "coordinator.query.interval.ms",
    "debug",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.metrics.push",
    "enable.partition.eof",
    "enable.random.seed",
    "enable.sasl.oauthbearer.unsecure.jwt",
    "enable.ssl.certificate.verification",
    "fetch.error.backoff.ms",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "fetch.min.bytes",
    "fetch.queue.backoff.ms",
    "fetch.wait.max.ms",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.protocol.type",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "https.ca.pem",
    "isolation.level",
    "log.connection.close",
    "log.thread.name",
    "max.in.flight",
    "max.in.flight.requests.per.connection",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "message.copy.max.bytes",
    "message.max.bytes",
    "metadata.broker.list",
    "metadata.max.age.ms",
    "metadata.recovery.rebootstrap.trigger.ms",
    "metadata.recovery.strategy",
    "offset.store.sync.interval.ms",
    "partition.assignment.strategy",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "receive.message.max.bytes",
    "reconnect.backoff.jitter.ms",
    "reconnect.backoff.max.ms",
    "reconnect.backoff.ms",
    "retry.backoff.max.ms",
    "retry.backoff.ms",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal",
    "sasl.kerberos.service.name",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.oauthbearer.assertion.algorithm",
    "sasl.oauthbearer.assertion.claim.aud",
    "sasl.oauthbearer.assertion.claim.exp.seconds",
    "sasl.oauthbearer.assertion.claim.iss",
    "sasl.oauthbearer.assertion.claim.jti.include",
    "sasl.oauthbearer.assertion.claim.nbf.seconds",
    "sasl.oauthbearer.assertion.claim.sub",
    "sasl.oauthbearer.client.credentials.client.id",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.extensions",
    "sasl.oauthbearer.grant.type",
    "sasl.oauthbearer.metadata.authentication.type",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.username",
    "security.protocol",
    "session.timeout.ms",
    "socket.blocking.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.keepalive.enable",
    "socket.max.fails",
    "socket.nagle.disable",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    "socket.timeout.ms",
    "ssl.ca.pem",
    "ssl.certificate.pem",
    "ssl.cipher.suites",
    "ssl.curves.list",
    "ssl.endpoint.identification.algorithm",
    "ssl.sigalgs.list",
    "statistics.interval.ms",
    "topic.blacklist",
    "topic.metadata.propagation.max.ms",
    "topic.metadata.refresh.fast.cnt",
    "topic.metadata.refresh.fast.interval.ms",
    "topic.metadata.refresh.interval.ms",
    "topic.metadata.refresh.sparse",
];

/// Classifies a librdkafka property name (without the `properties.` prefix).
pub fn classify(name: &str) -> Property {
    if SECRET.contains(&name) {
        return Property::Secret;
    }
    if let Some((_, why)) = DENIED.iter().find(|(k, _)| *k == name) {
        return Property::Denied(why);
    }
    if name.ends_with(".location") || name.ends_with(".file") || name.starts_with("plugin.") {
        return Property::Denied(
            "it names a file inside the pod (use the *.pem form, with a Secret for keys)",
        );
    }
    if ALLOWED.contains(&name) {
        Property::Allowed
    } else {
        Property::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_files_and_code_loading_are_told_apart_from_ordinary_properties() {
        assert_eq!(classify("bootstrap.servers"), Property::Allowed);
        assert_eq!(classify("sasl.username"), Property::Allowed);
        assert_eq!(classify("ssl.ca.pem"), Property::Allowed);
        assert_eq!(classify("sasl.password"), Property::Secret);
        assert_eq!(classify("ssl.key.pem"), Property::Secret);
        for denied in [
            "plugin.library.paths",
            "interceptors",
            "ssl.engine.location",
            "ssl.ca.location",
            "ssl.key.location",
            "https.ca.location",
            "sasl.kerberos.kinit.cmd",
            "sasl.oauthbearer.assertion.private.key.file",
            "ssl.providers",
        ] {
            assert!(matches!(classify(denied), Property::Denied(_)), "{denied}");
        }
        assert_eq!(classify("sasl.jaas.config"), Property::Unknown);
        assert_eq!(classify("rebalance_cb"), Property::Unknown);
        // The lists do not overlap.
        for name in ALLOWED {
            assert!(
                !SECRET.contains(name) && !DENIED.iter().any(|(d, _)| d == name),
                "{name}"
            );
            assert!(
                !name.ends_with(".location") && !name.ends_with(".file"),
                "{name}"
            );
        }
    }
}
