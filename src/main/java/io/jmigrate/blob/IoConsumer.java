package io.jmigrate.blob;

import java.io.IOException;

/** A consumer that may throw {@link IOException}, e.g. the code that writes a stream's content. */
@FunctionalInterface
public interface IoConsumer<T> {
  void accept(T value) throws IOException;
}
