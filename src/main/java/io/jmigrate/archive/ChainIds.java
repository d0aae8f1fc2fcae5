package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Layer chain ids (image-spec config.md, "Layer ChainID"): chain(0) = diff(0), chain(n) =
 * sha256(chain(n-1) + " " + diff(n)). Engines look layers up by chain id, which is why a load may omit only a
 * bottom prefix of the stack.
 */
public final class ChainIds {
  private ChainIds() {}

  /** The chain id of every prefix of {@code diffIds}, bottom first. */
  public static List<Digest> of(List<Digest> diffIds) {
    List<Digest> out = new ArrayList<>(diffIds.size());
    Digest chain = null;
    for (Digest diff : diffIds) {
      chain = chain == null ? diff : Digest.of((chain + " " + diff).getBytes(StandardCharsets.UTF_8));
      out.add(chain);
    }
    return out;
  }
}
