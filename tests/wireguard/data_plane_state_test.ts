import { assertEquals, assertTrue } from "../assert.ts";
import { DataPlaneState, NONE } from "../../lib/wireguard/data_plane_state.ts";

const dimensions = { peers: 8, keypairs: 16, writers: 3 };

Deno.test("data-plane state: a keypair is live only between publish and retire, and says so by generation", () => {
  const state = DataPlaneState.create(dimensions);
  const before = state.keypairGeneration(5);
  assertEquals(before & 1, 1, "a never-used record is not live");
  state.publishKeypair(5, {
    localIndex: 0xabcdef05,
    remoteIndex: 0x11223344,
    peer: 3,
    isInitiator: true,
    createdAt: 1234.5,
  });
  const live = state.keypairGeneration(5);
  assertEquals(live & 1, 0);
  assertTrue(state.keypairMatches(5, 0xabcdef05));
  assertTrue(!state.keypairMatches(5, 0xabcdef15), "another index with the same low bits");
  assertEquals(
    [state.keypairPeer(5), state.keypairRemoteIndex(5), state.keypairIsInitiator(5)],
    [3, 0x11223344, true],
  );
  assertEquals(state.keypairCreatedAt(5), 1234.5);
  state.retireKeypair(5);
  assertTrue(state.keypairGeneration(5) !== live, "a reader holding the old generation notices");
  assertEquals(state.keypairGeneration(5) & 1, 1);
  state.publishKeypair(5, {
    localIndex: 5,
    remoteIndex: 1,
    peer: 0,
    isInitiator: false,
    createdAt: 0,
  });
  assertTrue(state.keypairGeneration(5) !== live, "reuse never repeats a generation");
  let refused = "";
  try {
    state.publishKeypair(5, {
      localIndex: 5,
      remoteIndex: 1,
      peer: 0,
      isInitiator: false,
      createdAt: 0,
    });
  } catch (error) {
    refused = (error as Error).message;
  }
  assertEquals(refused, "keypair 5 is live");
});

Deno.test("data-plane state: send counters start at 0 for each keypair and stop at the limit", () => {
  const state = DataPlaneState.create(dimensions);
  state.publishKeypair(2, {
    localIndex: 2,
    remoteIndex: 9,
    peer: 1,
    isInitiator: true,
    createdAt: 0,
  });
  assertEquals([0, 1, 2].map(() => state.takeSendCounter(2, 3)), [0, 1, 2]);
  assertEquals(state.takeSendCounter(2, 3), -1);
  assertEquals(state.takeSendCounter(2, 3), -1, "an exhausted keypair stays exhausted");
  assertEquals(state.sendCounter(2), 3);
  state.retireKeypair(2);
  state.publishKeypair(2, {
    localIndex: 2,
    remoteIndex: 9,
    peer: 1,
    isInitiator: true,
    createdAt: 0,
  });
  assertEquals(state.takeSendCounter(2, 3), 0);
});

Deno.test("data-plane state: counters above 2^31 stay unsigned", () => {
  const state = DataPlaneState.create(dimensions);
  state.publishKeypair(1, {
    localIndex: 1,
    remoteIndex: 1,
    peer: 0,
    isInitiator: true,
    createdAt: 0,
  });
  const ints = new Int32Array(state.buffer, 0, 16);
  ints[8 + 5] = 0x7fffffff; // record 1's counter cell
  assertEquals(state.takeSendCounter(1, 2 ** 32 - 1), 0x7fffffff);
  assertEquals(state.takeSendCounter(1, 2 ** 32 - 1), 0x80000000);
  assertEquals(state.takeSendCounter(1, 2 ** 31), -1);
});

Deno.test("data-plane state: endpoints are stored mapped, read back whole, and versioned", () => {
  const state = DataPlaneState.create(dimensions);
  const address = new Uint8Array(16);
  assertEquals(state.readEndpoint(4, address), -1, "no endpoint yet");
  const sequence = state.endpointSequence(4);
  const v6 = Uint8Array.from({ length: 16 }, (_, i) => 0x20 + i);
  state.setEndpoint(4, v6, 51820);
  assertEquals(state.readEndpoint(4, address), 51820);
  assertEquals(address, v6);
  assertTrue(state.endpointSequence(4) !== sequence);
  assertEquals(state.endpointSequence(4) & 1, 0, "stable after the write");
  state.setEndpoint(4, null, 0);
  assertEquals(state.readEndpoint(4, address), -1);
});

Deno.test("data-plane state: activity gives the kernel's timer semantics", () => {
  const state = DataPlaneState.create(dimensions);
  assertTrue(Number.isNaN(state.firstDataSentAt(0)));
  state.noteSent(0, true, 100);
  state.noteSent(0, true, 200);
  assertEquals(state.firstDataSentAt(0), 100, "armed by the first data sent, not moved by more");
  state.noteSent(0, false, 250);
  assertEquals(state.firstDataSentAt(0), 100, "a keepalive does not arm or move it");
  state.noteReceived(0, false, 300);
  assertTrue(Number.isNaN(state.firstDataSentAt(0)), "anything authenticated back disarms it");
  state.noteReceived(0, true, 400);
  state.noteReceived(0, true, 500);
  assertEquals(state.firstDataReceivedAt(0), 400);
  state.noteSent(0, false, 600);
  assertTrue(
    Number.isNaN(state.firstDataReceivedAt(0)),
    "any authenticated send disarms send-keepalive",
  );
  assertEquals(state.lastTraversalAt(0), 600);
  assertTrue(state.claimHandshakeRequest(0, 1000, 5000));
  assertTrue(!state.claimHandshakeRequest(0, 5999, 5000), "one request per interval");
  assertTrue(state.claimHandshakeRequest(0, 6000, 5000));
});

Deno.test("data-plane state: traffic sums every writer's row; a reset peer starts from zero", () => {
  const state = DataPlaneState.create(dimensions);
  state.addTraffic(0, 6, 100, 10);
  state.addTraffic(1, 6, 200, 20);
  state.addTraffic(2, 6, 300, 30);
  state.addTraffic(2, 5, 7, 7);
  assertEquals([state.receivedBytes(6), state.sentBytes(6)], [600, 60]);
  state.setSendingKeypairs(6, 3, 4);
  assertEquals([state.currentKeypair(6), state.nextKeypair(6)], [3, 4]);
  state.resetPeer(6);
  assertEquals([state.receivedBytes(6), state.sentBytes(6), state.receivedBytes(5)], [0, 0, 7]);
  assertEquals([state.currentKeypair(6), state.nextKeypair(6)], [NONE, NONE]);
});

Deno.test("data-plane state: bad dimensions are refused", () => {
  for (const bad of [{ ...dimensions, keypairs: 12 }, { ...dimensions, peers: 0 }]) {
    let message = "";
    try {
      DataPlaneState.create(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    assertTrue(message.length > 0, JSON.stringify(bad));
  }
});
