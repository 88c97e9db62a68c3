import { assertEquals } from "../assert.ts";
import { chooseRelay } from "../../lib/relay/relay_choice.ts";

const r = (id: string, rtt: number) => ({ id, rtt });

Deno.test("relay choice: lowest measured RTT; measured before unmeasured; none without candidates", () => {
  assertEquals(chooseRelay([r("a", 40), r("b", 12), r("c", -1)], null)?.id, "b");
  assertEquals(chooseRelay([r("c", -1), r("a", 400)], null)?.id, "a");
  assertEquals(chooseRelay([r("d", -1), r("c", -1)], null)?.id, "c", "ties broken by id");
  assertEquals(chooseRelay([], "a"), null);
});

Deno.test("relay choice: the current relay stays unless another is clearly faster; a dead one is replaced", () => {
  assertEquals(chooseRelay([r("a", 40), r("b", 35)], "a")?.id, "a", "12% faster is not enough");
  assertEquals(chooseRelay([r("a", 40), r("b", 20)], "a")?.id, "b", "half the RTT switches");
  assertEquals(chooseRelay([r("a", 0.9), r("b", 0.2)], "a")?.id, "a", "LAN noise does not");
  assertEquals(
    chooseRelay([r("a", -1), r("b", 80)], "a")?.id,
    "b",
    "a measured one beats unmeasured",
  );
  assertEquals(chooseRelay([r("a", 30), r("b", -1)], "a")?.id, "a");
  assertEquals(chooseRelay([r("b", 80), r("c", 90)], "a")?.id, "b", "a gone: next best");
});
