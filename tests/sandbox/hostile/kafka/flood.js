// Fill the run's broker: 1 MB events as fast as it takes them, until it refuses or dies.
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({ clientId: "h", brokers: process.env.KAFKA_BROKERS.split(","),
                          logLevel: logLevel.NOTHING, retry: { retries: 0 }, requestTimeout: 3000 });
(async () => {
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(1024 * 1024, 97);
  let sent = 0;
  try {
    for (;;) {
      await producer.send({ topic: "flood", messages: Array.from({ length: 4 }, () => ({ value })) });
      sent += 4;
    }
  } catch (e) {
    console.log("STOPPED " + sent + " " + e.name);
  }
  process.exit(0);
})().catch((e) => { console.log("ERROR " + e.message); process.exit(0); });
