using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GslbDns.Api;

/// <summary>RFC 9457 problem details for every error the API gives.</summary>
internal static class Problems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                problem.Extensions[key] = value;
            }
        }

        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is null || !await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await Results.Problem(problem).ExecuteAsync(context);
        }
    }

    public static IResult Result(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);

    /// <summary>400 naming the field that is wrong (<c>errors.{field}</c>, and the detail says it too).</summary>
    public static IResult Invalid(string field, string message) =>
        Results.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [message] },
            detail: $"{field}: {message}",
            title: "Invalid request");

    public static IResult NotFound(string what) => Result(StatusCodes.Status404NotFound, "Not found", what);
}

/// <summary>A 400 raised from deep inside request parsing; the host turns it into <see cref="Problems.Invalid"/>.</summary>
internal sealed class InvalidFieldException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;

    public string Reason { get; } = message;
}
