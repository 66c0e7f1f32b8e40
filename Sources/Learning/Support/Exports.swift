// Learning's API takes the suite's SeededGenerator and uses its parallel loops, atomic
// files and thread settings, which live one layer down in `Support`; `import Learning`
// brings them along.
@_exported import Support
