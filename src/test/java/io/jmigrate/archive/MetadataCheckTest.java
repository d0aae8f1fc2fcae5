package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link MetadataCheck}. */
class MetadataCheckTest {
  private static Map<MetadataCheck.Kind, String> losses(Object... kindsAndExamples) {
    Map<MetadataCheck.Kind, String> m = new EnumMap<>(MetadataCheck.Kind.class);
    for (int i = 0; i < kindsAndExamples.length; i += 2) {
      m.put((MetadataCheck.Kind) kindsAndExamples[i], (String) kindsAndExamples[i + 1]);
    }
    return m;
  }

  @Test
  void summary_nothingLost_isNull() {
    MetadataCheck c = new MetadataCheck();
    c.entry();
    c.checked(losses());

    assertThat(c.summary("volume data")).isNull();
    assertThat(c.lossy()).isFalse();
    assertThat(c.incomplete()).isFalse();
  }

  @Test
  void summary_lossesOfSeveralKinds_oneLineWithCountsAndFirstExamples() {
    MetadataCheck c = new MetadataCheck();
    for (int i = 0; i < 40; i++) {
      c.entry();
      c.checked(i < 12 ? losses(MetadataCheck.Kind.XATTRS, "./f" + i + ": xattr user.x: Operation not supported",
          MetadataCheck.Kind.NS_MTIMES, "./f" + i + ": mtime 1.5 is 1 there")
          : losses(MetadataCheck.Kind.NS_MTIMES, "./g" + i + ": mtime"));
    }

    assertThat(c.summary("volume data")).isEqualTo("volume data: the target filesystem dropped xattrs on 12 and"
        + " ns mtimes on 40 of the 40 entries checked (./f0: xattr user.x: Operation not supported;"
        + " ./f0: mtime 1.5 is 1 there)");
    assertThat(c.lost(MetadataCheck.Kind.XATTRS)).isEqualTo(12);
    assertThat(c.summary("x")).doesNotContain("\n");
  }

  @Test
  void verify_sampleReadBackWithOtherOwnerAndMode_countsLossesAndWhatTheApiCannotShow() throws IOException {
    ByteArrayOutputStream volume = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(volume);
    put(w, "./", TarEntry.DIR, 0755, 0, 0, 10, 0, Map.of());
    put(w, "./owned", TarEntry.FILE, 0640, 1000, 1000, 10, 5, Map.of("user.note", new byte[] {1},
        "system.posix_acl_access", new byte[] {2}));
    put(w, "./same", TarEntry.FILE, 0644, 0, 0, 10, 0, Map.of());
    w.finish();
    MetadataCheck.Sample sample = new MetadataCheck.Sample();
    VolumeArchive.nest(new ByteArrayInputStream(volume.toByteArray()), "0", new ByteArrayOutputStream(), sample);
    assertThat(sample.names()).containsExactly("0", "0/owned", "0/same");
    // What the engine would return for each path: the root and ./same as written, ./owned as root:root 0644.
    Map<String, byte[]> engine = new HashMap<>();
    engine.put("0", tar("0/", TarEntry.DIR, 0755, 0, 0, 10));
    engine.put("0/owned", tar("owned", TarEntry.FILE, 0644, 0, 0, 10));
    engine.put("0/same", tar("same", TarEntry.FILE, 0644, 0, 0, 10));

    MetadataCheck c = MetadataCheck.verify(sample, name -> new ByteArrayInputStream(engine.get(name)));

    assertThat(c.lost(MetadataCheck.Kind.OWNERS)).isEqualTo(1);
    assertThat(c.lost(MetadataCheck.Kind.MODES)).isEqualTo(1);
    assertThat(c.unchecked(MetadataCheck.Kind.XATTRS)).isEqualTo(1);
    assertThat(c.unchecked(MetadataCheck.Kind.ACLS)).isEqualTo(1);
    assertThat(c.unchecked(MetadataCheck.Kind.NS_MTIMES)).isEqualTo(1);
    assertThat(c.summary("volume data")).isEqualTo("volume data: the target filesystem dropped owners on 1 and"
        + " modes on 1 of the 3 entries checked (./owned: owner 1000:1000 is 0:0 there; ./owned: mode 0640 is 0644"
        + " there); xattrs on 1, ACLs on 1 and ns mtimes on 1 entries could not be checked (the engine's archive"
        + " API does not return them; write volumes directly, as root on the target host, to check them)");
  }

  @Test
  void verify_entryThatCannotBeReadBack_isNotCountedAsKept() throws IOException {
    ByteArrayOutputStream volume = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(volume);
    put(w, "./", TarEntry.DIR, 0755, 0, 0, 10, 0, Map.of());
    w.finish();
    MetadataCheck.Sample sample = new MetadataCheck.Sample();
    VolumeArchive.nest(new ByteArrayInputStream(volume.toByteArray()), "0", new ByteArrayOutputStream(), sample);

    MetadataCheck c = MetadataCheck.verify(sample, name -> {
      throw new IOException("no such container");
    });

    assertThat(c.checked()).isZero();
    assertThat(c.unreadable()).isEqualTo(1);
    assertThat(c.summary("v")).contains("1 sampled entry could not be read back (reading 0 back failed: no such"
        + " container)");
  }

  @Test
  void sample_manyEntries_isBoundedAndDeterministic() throws IOException {
    ByteArrayOutputStream volume = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(volume);
    put(w, "./", TarEntry.DIR, 0755, 0, 0, 10, 0, Map.of());
    for (int i = 0; i < 1000; i++) {
      put(w, "./f" + i, TarEntry.FILE, 0644, 0, 0, 10, 0, Map.of());
    }
    w.finish();
    List<String> first = null;
    for (int run = 0; run < 2; run++) {
      MetadataCheck.Sample sample = new MetadataCheck.Sample();
      VolumeArchive.nest(new ByteArrayInputStream(volume.toByteArray()), "0", new ByteArrayOutputStream(), sample);
      assertThat(sample.names()).hasSize(1 + MetadataCheck.API_SAMPLE).startsWith("0");
      if (first == null) {
        first = sample.names();
      } else {
        assertThat(sample.names()).isEqualTo(first);
      }
    }
  }

  private static void put(TarWriter w, String name, byte type, int mode, long uid, long gid, long s, int ns,
      Map<String, byte[]> xattrs) throws IOException {
    TarEntry e = new TarEntry();
    e.name = name;
    e.type = type;
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    e.mtimeSeconds = s;
    e.mtimeNanos = ns;
    e.xattrs.putAll(xattrs);
    w.putEntry(e);
  }

  private static byte[] tar(String name, byte type, int mode, long uid, long gid, long s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    put(w, name, type, mode, uid, gid, s, 0, Map.of());
    w.finish();
    return out.toByteArray();
  }
}
