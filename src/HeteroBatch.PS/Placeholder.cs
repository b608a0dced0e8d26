namespace HeteroBatch.PS; internal static class Placeholder {}
