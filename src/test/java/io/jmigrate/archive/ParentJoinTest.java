package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tests for {@link ParentJoin}. */
class ParentJoinTest {
  private static final byte[] ID = new byte[32];

  static TreeRecord file(String path, long size) {
    return TreeRecord.builder(path, TreeRecord.Type.FILE).mode(0644).size(size).mtime(1_700_000_000L, 10)
        .ctime(1_700_000_500L, 20).inode(1234, 2049).chunk(ID, 0, (int) size).build();
  }

  static TreeRecord dir(String path) {
    return TreeRecord.builder(path, TreeRecord.Type.DIR).mode(0755).build();
  }

  /** A source over a list that counts how many records were taken. */
  static final class Counting implements TreeRecord.Source {
    final Iterator<TreeRecord> it;
    int taken;

    Counting(List<TreeRecord> records) {
      it = records.iterator();
    }

    @Override
    public TreeRecord next() {
      if (!it.hasNext()) {
        return null;
      }
      taken++;
      return it.next();
    }
  }

  @Test
  void match_walkAndParentInTarOrder_findsEqualPathsMovingForwardOnly() throws IOException {
    List<TreeRecord> parent = List.of(dir("./"), dir("./a/"), file("./a/gone", 1), file("./a/kept", 2),
        file("./a-", 3), file("./b", 4), dir("./c/"), file("./c/x", 5), file("./d", 6));
    // The walk: ./a/gone deleted, ./a/new added, ./b now a directory, ./c/ and its file deleted, ./e added.
    List<String> walk = List.of("./", "./a/", "./a/kept", "./a/new", "./a-", "./b/", "./b/in", "./d", "./e");
    Counting source = new Counting(parent);
    ParentJoin join = new ParentJoin(source);
    List<String> matched = new ArrayList<>();
    for (String p : walk) {
      TreeRecord m = join.match(p);
      matched.add(m == null ? null : m.path());
    }
    assertThat(matched).containsExactly("./", "./a/", "./a/kept", null, "./a-", null, null, "./d", null);
    assertThat(source.taken).isEqualTo(parent.size());
  }

  @Test
  void match_walkPastTheParent_readsEachParentRecordOnce() throws IOException {
    Counting source = new Counting(List.of(dir("./"), file("./a", 1)));
    ParentJoin join = new ParentJoin(source);
    assertThat(join.match("./")).isNotNull();
    assertThat(join.match("./0")).isNull();
    assertThat(join.match("./a")).isNotNull();
    assertThat(join.match("./b")).isNull();
    assertThat(join.match("./c")).isNull();
    assertThat(source.taken).isEqualTo(2);
  }

  @Test
  void match_parentStreamFromChunks_joinsTheReader() throws IOException {
    List<TreeRecord> parent = new ArrayList<>(TreeStreamTest.tree(20, 300));
    List<TreeStreamTest.Chunk> chunks = TreeStreamTest.write(parent);
    assertThat(chunks).hasSizeGreaterThan(3);
    Iterator<TreeStreamTest.Chunk> it = chunks.iterator();
    ParentJoin join = new ParentJoin(new TreeStreamReader(() -> it.hasNext() ? it.next().bytes() : null, "parent"));
    int found = 0;
    for (int i = 0; i < parent.size(); i += 2) {
      TreeRecord m = join.match(parent.get(i).path());
      assertThat(m).isEqualTo(parent.get(i));
      found++;
    }
    assertThat(found).isEqualTo((parent.size() + 1) / 2);
  }

  @Test
  void match_outOfOrderOrRepeated_refused() throws IOException {
    ParentJoin join = ParentJoin.none();
    assertThat(join.match("./")).isNull();
    assertThat(join.match("./a/")).isNull();
    assertThatThrownBy(() -> join.match("./a/")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("walk entry './a/' comes after './a/': the walk must be in tar order, each path once");
    assertThat(join.match("./a/x")).isNull();
    assertThat(join.match("./a-")).isNull();
    assertThatThrownBy(() -> join.match("./a/y")).hasMessageContaining("'./a/y' comes after './a-'");
  }

  @Test
  void unchanged_sameSizeTimesInodeDevice_true() {
    TreeRecord parent = file("./f", 100);
    TreeRecord now = TreeRecord.builder("./f", TreeRecord.Type.FILE).mode(0600).owner(5, 5).size(100)
        .mtime(1_700_000_000L, 10).ctime(1_700_000_500L, 20).inode(1234, 2049).build();
    // Owner and mode are not compared: the new record takes them from the walk, only data is reused.
    assertThat(ParentJoin.unchanged(parent, now)).isTrue();
  }

  @Test
  void unchanged_anyFieldDiffers_false() {
    TreeRecord parent = file("./f", 100);
    TreeRecord.Builder base = parent.toBuilder();
    List<TreeRecord> changed = Arrays.asList(
        TreeRecord.builder("./f", TreeRecord.Type.FILE).size(101).mtime(1_700_000_000L, 10)
            .ctime(1_700_000_500L, 20).inode(1234, 2049).build(),
        base.mtime(1_700_000_000L, 11).build(),
        parent.toBuilder().mtime(1_700_000_001L, 10).build(),
        // An edit of the same size with its mtime set back: only ctime shows it.
        parent.toBuilder().ctime(1_700_000_900L, 20).build(),
        parent.toBuilder().ctime(1_700_000_500L, 21).build(),
        parent.toBuilder().inode(1235, 2049).build(),
        parent.toBuilder().inode(1234, 2050).build());
    for (TreeRecord c : changed) {
      assertThat(ParentJoin.unchanged(parent, c)).as(c.toString()).isFalse();
    }
  }

  @Test
  void unchanged_missingChangeDetectionFieldsOrNotAFile_false() {
    TreeRecord parent = file("./f", 100);
    // The engine's archive API gives no ctime, inode or device: such records are never trusted.
    TreeRecord noCtime = parent.toBuilder().ctime(0, 0).build();
    TreeRecord noInode = parent.toBuilder().inode(0, 2049).build();
    TreeRecord noDev = parent.toBuilder().inode(1234, 0).build();
    for (TreeRecord r : List.of(noCtime, noInode, noDev)) {
      assertThat(ParentJoin.unchanged(r, r)).isFalse();
      assertThat(ParentJoin.unchanged(parent, r)).isFalse();
      assertThat(ParentJoin.unchanged(r, parent)).isFalse();
    }
    TreeRecord fifo = TreeRecord.builder("./f", TreeRecord.Type.FIFO).ctime(1, 0).inode(1, 1).build();
    assertThat(ParentJoin.unchanged(fifo, fifo)).isFalse();
    assertThat(ParentJoin.unchanged(null, parent)).isFalse();
    // A parent file without chunk refs has nothing to reuse.
    TreeRecord bare = TreeRecord.builder("./f", TreeRecord.Type.FILE).size(100).mtime(1_700_000_000L, 10)
        .ctime(1_700_000_500L, 20).inode(1234, 2049).build();
    assertThat(ParentJoin.unchanged(bare, parent)).isFalse();
    assertThat(ParentJoin.unchanged(parent, bare)).isTrue();
  }
}
