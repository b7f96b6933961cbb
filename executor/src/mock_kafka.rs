//! librdkafka's mock Kafka cluster, for the demo and the tests: real Kafka protocol on
//! loopback TCP ports, groups and commits included. Configured like a development broker:
//! no initial rebalance delay (`group.initial.rebalance.delay.ms=0`), so consumers get their
//! partitions at once.

use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer as _};

/// A running mock cluster (stops when dropped).
pub struct MockKafka {
    // The cluster lives inside this client (`test.mock.num.brokers`).
    client: BaseProducer,
}

impl MockKafka {
    /// Starts a cluster of `brokers` brokers.
    pub fn start(brokers: i32) -> Result<MockKafka, String> {
        let client: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", brokers.to_string())
            .create()
            .map_err(|e| format!("cannot start the mock Kafka cluster: {e}"))?;
        // SAFETY: the handle is valid while `client` lives; the call only sets a default of
        // the cluster the handle owns.
        unsafe {
            let cluster =
                rdkafka::bindings::rd_kafka_handle_mock_cluster(client.client().native_ptr());
            if cluster.is_null() {
                return Err("librdkafka did not create a mock cluster".to_owned());
            }
            rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0);
        }
        Ok(MockKafka { client })
    }

    /// The cluster, to create topics and inject faults.
    pub fn cluster(&self) -> MockCluster<'_, DefaultProducerContext> {
        #[allow(clippy::expect_used)]
        self.client
            .client()
            .mock_cluster()
            .expect("the client owns a mock cluster (checked at start)")
    }

    /// `host:port,...` of the brokers.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster().bootstrap_servers()
    }
}
