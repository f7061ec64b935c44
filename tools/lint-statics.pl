#!/usr/bin/perl
# Mutable static storage, for tools/lint.sh: prints "file:line: name" for
# every variable with static storage duration (file scope, or `static` in a
# function) that is not const, and exits 1 if there is one. ALLOW in the
# environment lists the exceptions as "file:name" words.
#
# A heuristic over the text, not a C parser: comments, literals and
# preprocessor lines are blanked, then each declaration's head (up to its
# `;`, `=` or `{`) is read at file scope, and in functions where it starts
# with `static`. Functions, typedefs, extern declarations and types are not
# variables; a pointer is const only if the pointer itself is (`*const`).
# It misses a second declarator after an initializer (`static int a = 1, b;`).
use strict;
use warnings;

my %allow = map { $_ => 1 } split ' ', ($ENV{ALLOW} // '');
my $found = 0;

# Comments, string and character literals and preprocessor lines become
# blanks; newlines stay, so offsets keep their line numbers.
sub strip {
  my ($t) = @_;
  $t =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')}{
    my $m = $1; $m =~ s/[^\n]/ /g; $m =~ /^"/ ? '""' . substr($m, 2) : $m }gse;
  $t =~ s{^([ \t]*#(?:[^\n]*\\\n)*[^\n]*)}{ my $m = $1; $m =~ s/[^\n]/ /g; $m }gme;
  return $t;
}

# A declaration's head (up to its first `;`, `=` or `{`): the names of the
# variables it declares that can change.
sub mutable_variable {
  my ($head) = @_;
  $head =~ s/__attribute__\s*(\((?:[^()]++|(?1))*\))//g;
  return () if $head =~ /^\s*(typedef|extern)\b/ || $head =~ /\binline\b/;
  return () if $head =~ /^\s*(struct|union|enum)\s+\w+\s*$/; # a type, no variable
  my $decl;
  if ($head =~ /^[^(]*(\(\s*\*(?:[^()]++|(?1))*\))/) { # (*name)(...): a function pointer
    $decl = $1;
  } elsif ($head =~ /\(/) {
    return (); # a function
  } else {
    ($decl = $head) =~ s/\[[^\]]*\]//g;
  }
  # `int a, *b`: the type is what precedes the first declarator.
  my @names;
  for my $part (split /,/, $decl) {
    my ($name) = $part =~ /(\w+)\W*$/;
    next unless defined $name && $name !~ /^(struct|union|enum|const|static)$/;
    my $const = $part =~ /\*/ ? $part =~ /\*\s*const\b[^*]*$/ : $head =~ /\bconst\b[^*]*$/;
    push @names, $name unless $const;
  }
  return @names;
}

# From `at`, past an initializer to the `;` that ends it, or to the `}`
# that closes the enclosing braces (left for the caller).
sub skip_initializer {
  my ($t, $at) = @_;
  my $depth = 0;
  for (; $at < length $t; $at++) {
    my $c = substr($t, $at, 1);
    if ($c eq '{' || $c eq '(' || $c eq '[') { $depth++ }
    elsif ($c eq '}' || $c eq ')' || $c eq ']') { return $at if $depth == 0; $depth-- }
    elsif ($c eq ';' && $depth == 0) { return $at }
  }
  return $at;
}

for my $file (@ARGV) {
  open my $fh, '<', $file or die "$file: $!";
  my $t = strip(do { local $/; <$fh> });
  my ($depth, $paren, $start) = (0, 0, 0);
  my %type_at; # depth => the head of the struct/union/enum body open there
  my $prefix = ''; # after a type's body: its head, for the declarators that follow
  for (my $i = 0; $i < length $t; $i++) {
    my $c = substr($t, $i, 1);
    if ($c eq '(') { $paren++; next }
    if ($c eq ')') { $paren--; next }
    next if $paren > 0 || ($c ne ';' && $c ne '{' && $c ne '}' && $c ne '=');
    next if $c eq '=' && substr($t, $i + 1, 1) eq '=';
    next if $c eq '=' && substr($t, $i - 1, 1) =~ /[=!<>+\-*\/%&|^]/;
    my $text = substr($t, $start, $i - $start);
    my $head = $prefix . $text;
    $prefix = '';
    my $is_static = $head =~ /^\s*(?:__attribute__\s*(\((?:[^()]++|(?1))*\))\s*)?static\b/;
    my $is_type = $c eq '{' && $head =~ /\b(struct|union|enum)\b[^()]*$/;
    if ($c ne '}' && !$is_type && ($depth == 0 || $is_static) && $text =~ /\S/) {
      for my $name (grep { !$allow{"$file:$_"} } mutable_variable($head)) {
        my $line = 1 + (() = substr($t, 0, $start + length($text) - length($text =~ s/^\s+//r)) =~ /\n/g);
        print "$file:$line: $name\n";
        $found = 1;
      }
    }
    if ($c eq '=') { $i = skip_initializer($t, $i + 1); $c = substr($t, $i, 1); }
    if ($c eq '{') { $depth++; $type_at{$depth} = $head if $is_type }
    if ($c eq '}') { $prefix = delete($type_at{$depth}) . ' {} ' if exists $type_at{$depth}; $depth-- }
    $start = $i + 1;
  }
}
exit $found;
