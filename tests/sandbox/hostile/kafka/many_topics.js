// Thousands of topics of 8 partitions each, in batches, until the broker gives up.
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({ clientId: "h", brokers: process.env.KAFKA_BROKERS.split(","),
                          logLevel: logLevel.NOTHING, retry: { retries: 0 }, requestTimeout: 5000 });
(async () => {
  const admin = kafka.admin();
  await admin.connect();
  let made = 0;
  try {
    for (let batch = 0; batch < 20; batch++) {
      const topics = Array.from({ length: 250 }, (_, i) => ({ topic: `t-${batch}-${i}`, numPartitions: 8 }));
      await admin.createTopics({ topics, waitForLeaders: false });
      made += topics.length;
    }
    console.log("MADE " + made);
  } catch (e) {
    console.log("STOPPED " + made + " " + e.name);
  }
  process.exit(0);
})().catch((e) => { console.log("ERROR " + e.message); process.exit(0); });
